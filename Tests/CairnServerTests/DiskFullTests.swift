import CairnTesting
import Foundation
import Testing

/// The disk under the WAL, or under the store, fills up for real (a small tmpfs): writes fail with `unavailable`
/// and change nothing, reads and the operator's tools go on, `/readyz` says 503, writes resume once there is room,
/// and after a SIGKILL the directory opens with every acknowledged change and none of the refused ones.
@Suite("A full disk: refused writes leave no trace, reads and tools go on, the next start works")
struct DiskFullTests {
    @Test(
        "the disk fills under the WAL (its write fails) or under the store (LMDB's commit fails after the WAL fsync)",
        arguments: ["wal", "store"])
    func fullDisk(filledDirectory: String) throws {
        let directory = TemporaryDirectory("cairn-full")
        let data = directory.appending("data")
        let disk = try SmallFilesystem(at: data + "/" + filledDirectory, megabytes: 4)
        let server = try ServerProcess(dataDirectory: data, arguments: ["--wal-segment-size", "\(1 << 20)"])
        let c = try server.client()
        try c.connect()
        let payload = String(repeating: "x", count: 32 << 10)
        var acknowledged: [String] = []
        var refused: [String] = []
        for k in 0..<1000 where refused.count < 5 {
            let reply = try c.call(["op": "create", "path": "/n\(k)", "data": payload])
            if reply.ok {
                acknowledged.append("n\(k)")
            } else {
                #expect(reply.errorCode == "unavailable", "\(reply)")
                refused.append("n\(k)")
            }
        }
        try #require(refused.count == 5, "the 4 MiB disk filled")
        // Small changes still fit for a while: fill the last bytes with empty creates too. A session record is
        // larger than one of those, so on the WAL's disk no session can be opened after this.
        for k in 0..<20_000 where refused.count < 10 {
            let reply = try c.call(["op": "create", "path": "/s\(k)"])
            if reply.ok { acknowledged.append("s\(k)") } else { refused.append("s\(k)") }
        }
        try #require(refused.count == 10, "the disk is full even for small changes")
        #expect(try c.call(["op": "get", "path": "/n0"])["data"] as? String == payload, "reads go on")
        let admin = AdminHTTP(port: try #require(server.adminPort))
        let unready = try admin.get("/readyz")
        #expect(unready.status == 503 && unready.body.contains("the last write failed"), "\(unready)")
        #expect(try admin.metrics()["cairn_store_writable"] == 0)

        let address = ["--server", "127.0.0.1:\(server.port)"]
        let stats = try ChildProcess.run("cairnctl", ["stats", "--json"] + address)
        #expect(stats.status == 0, "stats works on a full disk: \(stats.errorOutput)")
        #expect(stats.output.joined().contains(#""write_error":"the store cannot take writes"#), "\(stats.output)")
        // The store's disk may still take a session in LMDB pages freed by the failed commits: then health is right
        // to pass. It must never call the server unreachable.
        let health = try ChildProcess.run("cairnctl", ["health"] + address)
        if filledDirectory == "wal" || health.status != 0 {
            #expect(
                health.status == 1 && health.errorOutput.contains("cannot write"),
                "\(health.status): \(health.errorOutput)")
        }

        try disk.resize(megabytes: 64)
        #expect(try c.call(["op": "create", "path": "/after"]).ok, "writes resume once there is room")
        #expect(try admin.get("/readyz").status == 200)
        #expect(try admin.metrics()["cairn_store_writable"] == 1)
        #expect(try ChildProcess.run("cairnctl", ["health"] + address).status == 0)
        server.kill()

        let restarted = try server.restarted()
        let after = try restarted.client()
        try after.connect()
        let children = Set(try #require(after.call(["op": "children", "path": "/"])["children"] as? [String]))
        #expect(children == Set(acknowledged + ["after", "zookeeper"]), "every acknowledged create and no refused one")
        #expect(try after.call(["op": "create", "path": "/next"]).ok)
    }
}
