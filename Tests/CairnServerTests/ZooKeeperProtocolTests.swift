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

    /// Runs `tools/zookeeper/<script>` with .venv-compat's python (kazoo 2.11 from tools/setup) against a fresh server
    /// with its ZooKeeper port; the script gets that port first. Expects exit 0, `done` in its output and no fatal
    /// error in the server's log; returns the server for further checks.
    @discardableResult
    func run(_ script: String, data: String, arguments: (ServerProcess) -> [String], done: String) throws
        -> ServerProcess
    {
        let server = try ServerProcess(
            dataDirectory: directory.appending(data), arguments: ["--zk-listen", "127.0.0.1:0"])
        let zooKeeperPort = try #require(server.zooKeeperPort)
        let child = try ChildProcess(
            Self.root + "/.venv-compat/bin/python",
            [Self.root + "/tools/zookeeper/" + script, "\(zooKeeperPort)"] + arguments(server))
        let status = child.wait()
        let output = child.output.joined(separator: "\n")
        #expect(status == 0, "\(output)\n\(child.errorOutput)")
        #expect(output.contains(done))
        #expect(server.log.allSatisfy { !$0.contains("Fatal") }, "the server's log: \(server.log.suffix(20))")
        return server
    }

    @Test("tools/zookeeper/wire-checks.py passes against a fresh server (kazoo 2.11 from tools/setup)")
    func wireChecks() throws {
        try run("wire-checks.py", data: "data", arguments: { ["\($0.port)"] }, done: "all checks passed")
    }

    @Test("zkCli and the C client's shell print the same against Cairn as against Debian's ZooKeeper 3.8")
    func cliSessionsMatchZooKeeper() throws {
        // tools/zookeeper/cli-compare.py starts the ZooKeeper itself, runs every zkCli command and the C client's on
        // both, masks zxids, times, session ids and ports, and diffs the rest.
        try run("cli-compare.py", data: "cli", arguments: { _ in [] }, done: "cli sessions match")
    }

    @Test("400 rounds of random and mutated frames close only their own connections; a kazoo session beside them")
    func fuzzedFrames() throws {
        let server = try run(
            "fuzz-frames.py", data: "fuzz", arguments: { _ in ["400"] }, done: "the server kept serving")
        // Still serving on the JSON-lines port too, and the bad frames were logged.
        let client = try server.client()
        #expect(try client.call(["op": "ping"]).ok)
        #expect(server.log.contains { $0.contains("ZooKeeper") && $0.contains("closing") })
    }
}
