import CairnTesting
import Foundation
import Testing

/// `cairn-bench` against the real server: what it reports must match what the server did. Speeds are never
/// asserted here (BENCHMARKS.md has them); counts, errors and the report's fields are.
@Suite("cairn-bench against a live server")
struct LoadGeneratorTests {
    let directory = TemporaryDirectory("cairn-bench")

    /// Runs `cairn-bench --json` against `server`; its report.
    func bench(_ server: ServerProcess, _ arguments: [String]) throws -> [String: Any] {
        let run = try ChildProcess.run(
            "cairn-bench",
            ["--server", "127.0.0.1:\(server.port)", "--server-pid", "\(server.pid)", "--warmup", "0", "--json"]
                + arguments)
        try #require(run.status == 0, "cairn-bench failed: \(run.errorOutput)")
        let line = try #require(run.output.last)
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    /// A connected client with a session, to look at what a run left on the server.
    func session(_ server: ServerProcess) throws -> LineClient {
        let client = try server.client()
        try client.connect()
        return client
    }

    @Test("--count records exactly that many replies, and every create it counted exists on the server")
    func countedCreatesExist() throws {
        let server = try ServerProcess(dataDirectory: directory.appending("data"))
        let report = try bench(
            server, ["--workload", "create", "--count", "3000", "--connections", "4", "--outstanding", "16"])
        #expect(report["operations"] as? Int == 3000)
        #expect(report["errors"] as? Int == 0)
        let created = try session(server).call(["op": "children", "path": "/bench/c"])["children"] as? [String] ?? []
        #expect(created.count >= 3000)
        let percentiles = ["p50", "p90", "p99", "p99.9"].compactMap { report["latency_us_\($0)"] as? Int }
        #expect(percentiles.count == 4)
        #expect(percentiles == percentiles.sorted())
        #expect((percentiles.last ?? .max) <= (report["latency_us_max"] as? Int ?? 0))
        #expect((report["server_cpu_s_per_100k_ops"] as? Double ?? 0) > 0)
        #expect((report["server_rss_bytes"] as? Int ?? 0) > 1 << 20)
        let fsyncs = try #require(report["server_fsyncs"] as? Int)
        #expect(fsyncs > 0)
        #expect((report["server_changes_per_fsync"] as? Double ?? 0) >= 1)
    }

    @Test("requests the server refuses are counted as errors, not operations")
    func refusalsAreErrors() throws {
        let server = try ServerProcess(
            dataDirectory: directory.appending("data"), arguments: ["--max-data-size", "100"])
        let report = try bench(
            server,
            [
                "--workload", "create", "--data-size", "200", "--count", "500", "--connections", "2", "--outstanding",
                "4",
            ])
        #expect(report["operations"] as? Int == 0)
        #expect(report["errors"] as? Int == 500)
        let created = try session(server).call(["op": "children", "path": "/bench/c"])["children"] as? [String]
        #expect(created == [])
    }

    @Test("one request at a time: blocking and busy-polling clients, and sets that land on the preloaded keys")
    func synchronousClients() throws {
        let server = try ServerProcess(dataDirectory: directory.appending("data"))
        for client in ["blocking", "busy-poll"] {
            let report = try bench(
                server,
                [
                    "--workload", "set", "--keys", "50", "--count", "400", "--connections", "1", "--outstanding", "1",
                    "--client", client,
                ])
            #expect(report["operations"] as? Int == 400)
            #expect(report["errors"] as? Int == 0)
            #expect(report["client"] as? String == client)
        }
        let keys = try session(server)
        let versions = try (0..<50).map { key in
            (try keys.call(["op": "get", "path": "/bench/k/\(key)"])["stat"] as? [String: Any])?["version"] as? Int ?? 0
        }
        // 800 measured sets (and those sent before measuring began) over 50 keys.
        #expect(versions.reduce(0, +) >= 800)
    }

    @Test("a synchronous client with more than one request in flight is refused before anything is sent")
    func synchronousClientNeedsOneOutstanding() throws {
        let run = try ChildProcess.run(
            "cairn-bench", ["--server", "127.0.0.1:1", "--client", "blocking", "--outstanding", "4", "--count", "10"])
        #expect(run.status == 64)
        #expect(run.errorOutput.contains("--outstanding 1"))
    }

    @Test("watch: each measured event at each watcher is one operation")
    func watchEvents() throws {
        let server = try ServerProcess(dataDirectory: directory.appending("data"))
        let report = try bench(server, ["--workload", "watch", "--watchers", "4", "--count", "200"])
        #expect(report["operations"] as? Int == 200)
        #expect(report["connections"] as? Int == 4)
        let stat = try session(server).call(["op": "exists", "path": "/bench/w"])["stat"] as? [String: Any]
        // Every watcher hears every set: 200 events need at least 50 sets of the watched node.
        #expect((stat?["version"] as? Int ?? 0) >= 50)
    }
}
