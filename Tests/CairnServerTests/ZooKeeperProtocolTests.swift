import CairnTesting
import Foundation
import Testing

@Suite(
    "ZooKeeper's protocol: the handshake's edge cases on raw frames, the ops through kazoo, one tree with JSON lines")
struct ZooKeeperProtocolTests {
    let directory = TemporaryDirectory("cairn-zk")

    /// The repository's root, from this file's place in it.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    @Test("tools/zookeeper/wire-checks.py passes against a fresh server (kazoo 2.11 from tools/setup)")
    func wireChecks() throws {
        let server = try ServerProcess(
            dataDirectory: directory.appending("data"), arguments: ["--zk-listen", "127.0.0.1:0"])
        let zooKeeperPort = try #require(server.zooKeeperPort)
        let checks = try ChildProcess(
            Self.root + "/.venv-compat/bin/python",
            [Self.root + "/tools/zookeeper/wire-checks.py", "\(zooKeeperPort)", "\(server.port)"])
        let status = checks.wait()
        let output = checks.output.joined(separator: "\n")
        #expect(status == 0, "\(output)\n\(checks.errorOutput)")
        #expect(output.contains("all checks passed"))
        #expect(server.log.allSatisfy { !$0.contains("Fatal") }, "the server's log: \(server.log.suffix(20))")
    }

    @Test("400 rounds of random and mutated frames close only their own connections; a kazoo session beside them")
    func fuzzedFrames() throws {
        let server = try ServerProcess(
            dataDirectory: directory.appending("fuzz"), arguments: ["--zk-listen", "127.0.0.1:0"])
        let zooKeeperPort = try #require(server.zooKeeperPort)
        let fuzz = try ChildProcess(
            Self.root + "/.venv-compat/bin/python",
            [Self.root + "/tools/zookeeper/fuzz-frames.py", "\(zooKeeperPort)", "400"])
        let status = fuzz.wait()
        let output = fuzz.output.joined(separator: "\n")
        #expect(status == 0, "\(output)\n\(fuzz.errorOutput)")
        #expect(output.contains("the server kept serving"))
        #expect(server.log.allSatisfy { !$0.contains("Fatal") }, "the server's log: \(server.log.suffix(20))")
        // Still serving on the JSON-lines port too, and the bad frames were logged.
        let client = try server.client()
        #expect(try client.call(["op": "ping"]).ok)
        #expect(server.log.contains { $0.contains("ZooKeeper") && $0.contains("closing") })
    }
}
