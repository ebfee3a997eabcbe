import CairnTesting
import Foundation
import Testing

@Suite("The server process")
struct ProcessTests {
    let directory = TemporaryDirectory("cairn-process")

    /// BENCHMARKS.md's figures are measured on jemalloc; a build that lost it would still pass every other test.
    @Test("allocates with jemalloc, and says so in its first log line")
    func jemalloc() throws {
        let server = try ServerProcess(dataDirectory: directory.appending("data"))
        // Read to the end: /proc files report size 0, and String(contentsOfFile:) stops at its first read.
        let file = try #require(FileHandle(forReadingAtPath: "/proc/\(server.pid)/maps"))
        let maps = String(decoding: try file.readToEnd() ?? Data(), as: UTF8.self)
        #expect(maps.contains("libjemalloc.so"))
        let first = try #require(server.log.first)
        #expect(first.contains("allocator"))
        #expect(first.range(of: #"jemalloc=\d+\.\d+\.\d+"#, options: .regularExpression) != nil)
    }

    @Test("--event-loops sets the network threads: one serves both ports; a negative count is refused")
    func eventLoops() throws {
        let server = try ServerProcess(
            dataDirectory: directory.appending("loops"),
            arguments: ["--event-loops", "1", "--zk-listen", "127.0.0.1:0", "--admin-listen", "none"])
        // NIO names its event-loop threads NIO-ELT-<group>-#<n> (with two, here: NIO-ELT-1-#1 and NIO-ELT-1-#2). The
        // admin port has a thread of its own: it is off here.
        let threads = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(server.pid)/task").map {
            try String(contentsOfFile: "/proc/\(server.pid)/task/\($0)/comm", encoding: .utf8)
        }
        #expect(threads.filter { $0.hasPrefix("NIO-ELT-") }.count == 1, "\(threads)")
        #expect(try server.client().call(["op": "ping"]).ok)
        #expect(server.zooKeeperPort != nil)
        let refused = try ChildProcess.run(
            "cairn", ["serve", "--data-dir", directory.appending("bad"), "--event-loops", "-1", "--zk-listen", "none"])
        #expect(refused.status != 0 && refused.errorOutput.contains("--event-loops"), "\(refused.errorOutput)")
    }

    @Test("the data directory and everything in it are its owner's only: directories 0700, files 0600")
    func ownerOnlyFiles() throws {
        let data = directory.appending("data")
        let server = try ServerProcess(dataDirectory: data)
        let c = try server.client()
        try c.connect()
        try c.call(["op": "create", "path": "/secret", "data": "s"])
        #expect(try c.call(["op": "snapshot"]).ok)
        let files = try #require(FileManager.default.subpaths(atPath: data)).map { data + "/" + $0 } + [data]
        #expect(files.count > 6, "\(files)")
        for file in files {
            let attributes = try FileManager.default.attributesOfItem(atPath: file)
            let mode = (attributes[.posixPermissions] as? Int ?? 0) & 0o777
            let isDirectory = attributes[.type] as? FileAttributeType == .typeDirectory
            #expect(mode & 0o077 == 0, "\(file) is \(String(mode, radix: 8))")
            #expect(mode & 0o700 == (isDirectory ? 0o700 : 0o600), "\(file) is \(String(mode, radix: 8))")
        }
    }
}
