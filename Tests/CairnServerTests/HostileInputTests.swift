import CairnTesting
import Foundation
import Testing

/// Requests that once took the server down or were misread, against the real binary: each is refused with a
/// clear error and the server goes on serving.
@Suite("Hostile input: numbers are bounded, ambiguous requests refused, the server keeps serving")
struct HostileInputTests {
    let directory = TemporaryDirectory("cairn-hostile")
    let server: ServerProcess

    init() throws {
        server = try ServerProcess(dataDirectory: directory.appending("data"))
    }

    func line(_ c: LineClient, _ text: String) throws -> LineClient.Object {
        try c.sendRaw(Array(text.utf8) + [10])
        return try c.reply()
    }

    @Test("ttl_ms is bounded to ZooKeeper's 40 bits; the reaper survives the longest TTL, and so does a restart")
    func ttlBounds() throws {
        let c = try server.client()
        try c.connect()
        for ttl in [Int64.max, 1 << 40, 0, -1] {
            #expect(
                try c.call(["op": "create", "path": "/t\(ttl)", "ttl_ms": ttl]).errorCode == "bad_arguments",
                "ttl_ms \(ttl)")
        }
        #expect(try c.call(["op": "create", "path": "/longest", "ttl_ms": (1 << 40) - 1]).ok)
        #expect(try c.call(["op": "create", "path": "/short", "ttl_ms": 1]).ok)
        // The reaper runs every second: the short one goes, the longest stays, the server lives.
        Thread.sleep(forTimeInterval: 2.5)
        #expect(try c.call(["op": "exists", "path": "/short"])["stat"] is NSNull)
        #expect(try c.call(["op": "exists", "path": "/longest"])["stat"] is [String: Any])
        server.kill()
        let restarted = try server.restarted()
        let after = try restarted.client()
        try after.connect()
        Thread.sleep(forTimeInterval: 2.5)
        #expect(try after.call(["op": "exists", "path": "/longest"])["stat"] is [String: Any])
    }

    @Test("a request without an id, or with a key given twice, is malformed and changes nothing")
    func ambiguousRequests() throws {
        let c = try server.client()
        try c.connect()
        let noID = try line(c, #"{"op":"create","path":"/no-id"}"#)
        #expect(noID.errorCode == "malformed" && noID["id"] is NSNull)
        for text in [
            #"{"id":7,"op":"get","op":"create","path":"/twice"}"#,
            #"{"id":7,"op":"create","path":"/twice","path":"/twice2"}"#,
            #"{"id":7,"op":"create","path":"/twice","\u0070ath":"/twice2"}"#,
            #"{"id":7,"op":"multi","ops":[{"op":"create","path":"/twice","op":"delete"}]}"#,
        ] {
            let reply = try line(c, text)
            #expect(reply.errorCode == "malformed" && reply["id"] as? Int == 7, "\(text)")
        }
        let children = try c.call(["op": "children", "path": "/"])
        #expect(children["children"] as? [String] == ["zookeeper"], "nothing was created")
    }
}
