import CairnTesting
import Foundation
import Testing

/// Every op and error code against the real `cairn` binary.
@Suite("Protocol: every op and error code")
struct ProtocolTests {
    let directory = TemporaryDirectory("cairn-server")
    let server: ServerProcess

    init() throws {
        server = try ServerProcess(dataDirectory: directory.appending("data"))
    }

    @Test("an op before connect gets session_required; connect negotiates the timeout into its bounds")
    func sessionRequiredAndConnect() throws {
        let c = try server.client()
        #expect(try c.call(["op": "get", "path": "/"]).errorCode == "session_required")
        let reply = try c.call(["op": "connect", "timeout_ms": 999_999_999])
        #expect(reply.ok)
        #expect((reply["session_id"] as? String)?.count == 16)
        #expect(Data(base64Encoded: reply["password"] as? String ?? "")?.count == 16)
        #expect(reply["timeout_ms"] as? Int == 60000)
        #expect(try c.call(["op": "connect"]).errorCode == "bad_arguments", "one session per connection")
        #expect(try c.call(["op": "ping"]).ok)
    }

    @Test("create, get, set, exists, children, delete, sync with their replies and errors")
    func crud() throws {
        let c = try server.client()
        try c.connect()
        let created = try c.call(["op": "create", "path": "/app", "data": "v1"])
        #expect(created.ok && created["path"] as? String == "/app")
        let stat = try #require(created["stat"] as? [String: Any])
        #expect(stat["version"] as? Int == 0 && stat["data_length"] as? Int == 2 && stat["ephemeral_owner"] is NSNull)
        #expect(try c.call(["op": "create", "path": "/app"]).errorCode == "node_exists")
        #expect(try c.call(["op": "create", "path": "/none/x"]).errorCode == "no_node")
        #expect(try c.call(["op": "create", "path": "bad"]).errorCode == "invalid_path")
        #expect(
            try c.call(["op": "create", "path": "/x", "ephemeral": true, "container": true]).errorCode
                == "bad_arguments")

        let got = try c.call(["op": "get", "path": "/app"])
        #expect(got["data"] as? String == "v1")
        let binary = Data([0xFF, 0x00, 0xFE])
        #expect(try c.call(["op": "set", "path": "/app", "data_b64": binary.base64EncodedString(), "version": 0]).ok)
        let gotBinary = try c.call(["op": "get", "path": "/app"])
        #expect(gotBinary["data"] == nil && gotBinary["data_b64"] as? String == binary.base64EncodedString())
        #expect(try c.call(["op": "set", "path": "/app", "data": "v3", "version": 0]).errorCode == "bad_version")
        #expect(try c.call(["op": "get", "path": "/missing"]).errorCode == "no_node")

        #expect(try c.call(["op": "exists", "path": "/missing"])["stat"] is NSNull)
        #expect((try c.call(["op": "exists", "path": "/app"])["stat"] as? [String: Any])?["version"] as? Int == 1)

        try c.call(["op": "create", "path": "/app/b"])
        try c.call(["op": "create", "path": "/app/a"])
        let children = try c.call(["op": "children", "path": "/app"])
        #expect(children["children"] as? [String] == ["a", "b"])
        #expect(try c.call(["op": "delete", "path": "/app"]).errorCode == "not_empty")
        #expect(try c.call(["op": "delete", "path": "/app/a", "version": 5]).errorCode == "bad_version")
        #expect(try c.call(["op": "delete", "path": "/app/a"]).ok)
        let synced = try c.call(["op": "sync", "path": "/app"])
        #expect(synced.ok && synced["zxid"] as? Int ?? 0 > 0)
        #expect(try c.call(["op": "create", "path": "/e", "ephemeral": true]).ok)
        #expect(try c.call(["op": "create", "path": "/e/child"]).errorCode == "no_children_for_ephemerals")
    }

    @Test("ephemeral sequential nodes number from the parent's cversion as ten digits")
    func sequential() throws {
        let c = try server.client()
        try c.connect()
        try c.call(["op": "create", "path": "/services"])
        try c.call(["op": "create", "path": "/services/web"])
        var paths: [String] = []
        for _ in 0..<3 {
            let r = try c.call([
                "op": "create", "path": "/services/web/i-", "ephemeral": true, "sequential": true,
                "data": "10.0.0.1:8080",
            ])
            paths.append(r["path"] as? String ?? "")
        }
        #expect(paths == ["/services/web/i-0000000000", "/services/web/i-0000000001", "/services/web/i-0000000002"])
        let stat = try #require(try c.call(["op": "get", "path": paths[0]])["stat"] as? [String: Any])
        #expect(stat["ephemeral_owner"] as? String != nil)
    }

    @Test("multi is all or nothing; the error names the failing op's index; results come per op")
    func multi() throws {
        let c = try server.client()
        try c.connect()
        try c.call(["op": "create", "path": "/m", "data": "0"])
        let failed = try c.call([
            "op": "multi",
            "ops": [
                ["op": "create", "path": "/m/a"],
                ["op": "set", "path": "/m", "data": "1"],
                ["op": "check", "path": "/m", "version": 0],
            ],
        ])
        #expect(failed.errorCode == "bad_version")
        #expect((failed["error"] as? [String: Any])?["index"] as? Int == 2)
        #expect(try c.call(["op": "exists", "path": "/m/a"])["stat"] is NSNull)
        #expect(try c.call(["op": "get", "path": "/m"])["data"] as? String == "0")
        let passed = try c.call([
            "op": "multi",
            "ops": [
                ["op": "check", "path": "/m", "version": 0],
                ["op": "create", "path": "/m/a"],
                ["op": "delete", "path": "/m/a"],
            ],
        ])
        let results = try #require(passed["results"] as? [[String: Any]])
        #expect(results.map { $0["op"] as? String } == ["check", "create", "delete"])
        #expect(try c.call(["op": "multi", "ops": [["op": "get", "path": "/m"]]]).errorCode == "bad_arguments")
    }

    @Test("read_multi reads from one view, each read failing alone (no_node, no_auth); a bad op fails it all")
    func readMulti() throws {
        let c = try server.client()
        try c.connect()
        try c.call(["op": "create", "path": "/r", "data": "x"])
        try c.call(["op": "create", "path": "/r/k"])
        try c.call(["op": "create", "path": "/r/secret", "acl": [["scheme": "digest", "id": "bob:h=", "perms": 31]]])
        let reply = try c.call([
            "op": "read_multi",
            "ops": [
                ["op": "get", "path": "/r"], ["op": "children", "path": "/gone"], ["op": "get", "path": "/r/secret"],
                ["op": "children", "path": "/r"],
            ],
        ])
        let results = try #require(reply["results"] as? [[String: Any]])
        #expect(results.count == 4)
        #expect(
            results[0]["data"] as? String == "x" && (results[0]["stat"] as? [String: Any])?["num_children"] as? Int == 2
        )
        #expect((results[1]["error"] as? [String: Any])?["code"] as? String == "no_node")
        #expect((results[2]["error"] as? [String: Any])?["code"] as? String == "no_auth")
        #expect(results[3]["children"] as? [String] == ["k", "secret"])
        let bad = try c.call(["op": "read_multi", "ops": [["op": "get", "path": "/r"], ["op": "set", "path": "/r"]]])
        #expect(bad.errorCode == "bad_arguments" && (bad["error"] as? [String: Any])?["index"] as? Int == 1)
    }

    @Test("garbage, wrong types, unknown ops and missing fields get their errors and the connection goes on")
    func badInput() throws {
        let c = try server.client()
        try c.connect()
        try c.sendRaw(Array("this is not json\n".utf8))
        #expect(try c.reply().errorCode == "malformed")
        try c.sendRaw(Array("[1,2,3]\n".utf8))
        #expect(try c.reply().errorCode == "malformed")
        try c.sendRaw(Array("{\"id\":7,\"op\":\"get\",\"path\":42}\n".utf8))
        let typed = try c.reply()
        #expect(typed.errorCode == "malformed" && typed["id"] as? Int == 7)
        #expect(try c.call(["op": "frobnicate"]).errorCode == "unknown_op")
        #expect(try c.call(["op": "get"]).errorCode == "bad_arguments")
        #expect(try c.call(["path": "/"]).errorCode == "bad_arguments")
        #expect(try c.call(["op": "create", "path": "/b", "data_b64": "***"]).errorCode == "bad_arguments")
        try c.sendRaw(Array("{\"id\":9,\"op\":\"ping\"".utf8))  // truncated: no newline yet
        try c.sendRaw(Array("}\n".utf8))
        #expect(try c.reply().ok)
        #expect(try c.call(["op": "ping"]).ok, "still serving")
    }

    @Test("an oversized line gets too_large and that connection is closed; others are untouched")
    func oversizedLine() throws {
        let other = try server.client()
        try other.connect()
        let c = try server.client()
        try c.connect()
        let huge =
            "{\"id\":1,\"op\":\"create\",\"path\":\"/big\",\"data\":\"" + String(repeating: "x", count: 2_000_000)
            + "\"}\n"
        try? c.sendRaw(Array(huge.utf8))
        let reply = try c.reply()
        #expect(reply.errorCode == "too_large")
        #expect(try c.readLine() == nil, "closed after the reply")
        #expect(try other.call(["op": "ping"]).ok)
        // Data past the data limit but within the line limit: too_large, connection kept.
        let big = String(repeating: "y", count: (1 << 20) + 1)
        #expect(try other.call(["op": "create", "path": "/big", "data": big]).errorCode == "too_large")
        #expect(try other.call(["op": "ping"]).ok)
    }

    @Test("stats report the server's figures")
    func stats() throws {
        let c = try server.client()
        try c.connect()
        try c.call(["op": "create", "path": "/s"])
        // 100 pipelined sets (how many share an fdatasync depends on the disk: tmpfs syncs at once).
        for round in 0..<100 { _ = try c.send(["op": "set", "path": "/s", "data": "\(round)"]) }
        for _ in 0..<100 { #expect(try c.reply().ok) }
        let stats = try c.call(["op": "stats"])
        // The root, /s and ZooKeeper's three.
        #expect(stats["znodes"] as? Int == 5 && stats["sessions"] as? Int == 1 && stats["connections"] as? Int == 1)
        #expect(stats["wal_bytes"] as? Int ?? 0 > 0 && stats["version"] as? String == "0.1.0")
        #expect(stats["uptime_ms"] as? Int != nil && stats["watches"] as? Int == 0)
        // Every change so far (the session, the create, 100 sets) went through the writer since this start.
        let zxid = try #require(stats["zxid"] as? Int)
        let changes = try #require(stats["committed_changes"] as? Int)
        let batches = try #require(stats["commit_batches"] as? Int)
        #expect(changes == zxid && zxid == 102)
        #expect(batches >= 2 && batches <= changes)
        #expect(stats["fsync_us_total"] as? Int ?? 0 > 0)
    }

    @Test("replies come in request order and a pipelined read sees the write before it")
    func pipelining() throws {
        let c = try server.client()
        try c.connect()
        var ids: [Int] = []
        for k in 0..<50 {
            ids.append(try c.send(["op": "create", "path": "/p\(k)", "data": "\(k)"]))
            ids.append(try c.send(["op": "get", "path": "/p\(k)"]))
        }
        for (index, id) in ids.enumerated() {
            let reply = try c.reply()
            #expect(reply["id"] as? Int == id)
            if index % 2 == 1 { #expect(reply["data"] as? String == "\(index / 2)") }
        }
    }

    @Test("close ends the session, deletes its ephemerals and closes the connection")
    func close() throws {
        let c = try server.client()
        try c.connect()
        try c.call(["op": "create", "path": "/eph", "ephemeral": true])
        #expect(try c.call(["op": "close"]).ok)
        #expect(try c.readLine() == nil)
        let d = try server.client()
        try d.connect()
        #expect(try d.call(["op": "exists", "path": "/eph"])["stat"] is NSNull)
    }
}

@Suite("Slow consumers")
struct SlowConsumerTests {
    @Test("a client that stops reading is disconnected past the outbound bound; others keep being served")
    func slowReaderIsDisconnected() throws {
        let directory = TemporaryDirectory("cairn-slow")
        let server = try ServerProcess(
            dataDirectory: directory.appending("data"), arguments: ["--max-outbound-bytes", "1048576"])
        let good = try server.client()
        try good.connect()
        try good.call(["op": "create", "path": "/big", "data": String(repeating: "b", count: 500_000)])
        let slow = try server.client()
        try slow.connect()
        for _ in 0..<200 { try slow.send(["op": "get", "path": "/big"]) }  // ~100 MB of replies, never read
        var disconnected = false
        for _ in 0..<100 where !disconnected {
            usleep(50_000)
            disconnected = server.log.contains { $0.contains("disconnecting a client that does not read") }
        }
        #expect(disconnected)
        #expect(try good.call(["op": "stats"])["connections"] as? Int == 1)
        #expect(try good.call(["op": "get", "path": "/big"])["stat"] != nil)
    }
}
