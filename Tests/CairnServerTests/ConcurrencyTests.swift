import CairnTesting
import Foundation
import Testing

@Suite("Many clients at once")
struct ConcurrencyTests {
    @Test("1,000 concurrent connections each open a session, register and read back")
    func thousandConnections() throws {
        // 1,000 sockets here and 1,000 in the server (which inherits this limit).
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = max(limit.rlim_cur, min(limit.rlim_max, 4096))
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let directory = TemporaryDirectory("cairn-many")
        let server = try ServerProcess(dataDirectory: directory.appending("data"))
        let setup = try server.client()
        try setup.connect()
        try setup.call(["op": "create", "path": "/services"])
        let clients = try (0..<1000).map { _ in try server.client() }
        for c in clients { try c.send(["op": "connect", "timeout_ms": 30000]) }
        for c in clients { #expect(try c.reply().ok) }
        for (i, c) in clients.enumerated() {
            try c.send([
                "op": "create", "path": "/services/i-", "ephemeral": true, "sequential": true, "data": "host-\(i)",
            ])
        }
        var paths: [String] = []
        for c in clients {
            let reply = try c.reply()
            paths.append(reply["path"] as? String ?? "")
        }
        #expect(Set(paths).count == 1000)
        for (i, c) in clients.enumerated() { try c.send(["op": "get", "path": paths[i]]) }
        for (i, c) in clients.enumerated() { #expect(try c.reply()["data"] as? String == "host-\(i)") }
        let stats = try setup.call(["op": "stats"])
        #expect(stats["connections"] as? Int == 1001 && stats["sessions"] as? Int == 1001)
        #expect((try setup.call(["op": "children", "path": "/services"])["children"] as? [String])?.count == 1000)
    }
}
