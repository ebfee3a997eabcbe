import CairnTesting
import Foundation
import Testing

/// The admin HTTP port, scraped with curl: Prometheus metrics that move with load and pass `promtool check
/// metrics`, probes that say when the server cannot take traffic, and the figures behind credentials once they are
/// configured.
@Suite("The admin HTTP port: /metrics, /healthz, /readyz, /status")
struct AdminTests {
    let directory = TemporaryDirectory("cairn-admin")

    @Test(
        "/metrics moves with load (a create raises its counter and histogram, a session the gauge) and passes promtool")
    func metricsMoveWithLoad() throws {
        let server = try ServerProcess(dataDirectory: directory.appending("data"))
        defer { server.kill() }
        let admin = AdminHTTP(port: try #require(server.adminPort))
        let created = #"cairn_requests_total{frontend="json",op="create"}"#
        let createDurations = #"cairn_request_duration_seconds_count{op="create"}"#
        let before = try admin.metrics()
        #expect(before["cairn_sessions"] == 0)
        #expect(before[#"cairn_connections{frontend="json"}"#] == 0)

        let c = try server.client()
        try c.connect()
        #expect(try c.call(["op": "create", "path": "/a", "data": "x"]).ok)
        #expect(try c.call(["op": "create", "path": "/a"]).errorCode == "node_exists")
        #expect(try c.call(["op": "add_watch", "path": "/", "recursive": true]).ok)
        let after = try admin.metrics()
        #expect(after[created] == (before[created] ?? -1) + 2, "both creates, the failed one too")
        #expect(after[createDurations] == (before[createDurations] ?? -1) + 2)
        #expect(after[#"cairn_request_errors_total{code="node_exists"}"#] == 1)
        #expect(after["cairn_sessions"] == 1)
        #expect(after[#"cairn_connections{frontend="json"}"#] == 1)
        #expect(after[#"cairn_watches{kind="persistent_recursive"}"#] == 1)
        #expect(after["cairn_znodes"] == (before["cairn_znodes"] ?? -1) + 1)
        #expect(
            (after["cairn_wal_fsync_duration_seconds_count"] ?? 0)
                > (before["cairn_wal_fsync_duration_seconds_count"] ?? 0))
        #expect((after["cairn_commit_batch_changes_sum"] ?? 0) >= 2, "the session and the create")
        #expect(after[#"cairn_build_info{version="0.1.0"}"#] == 1)

        let exposition = try admin.get("/metrics").body
        let file = directory.appending("metrics.txt")
        try exposition.write(toFile: file, atomically: true, encoding: .utf8)
        let check = try ChildProcess("/usr/bin/env", ["sh", "-c", "promtool check metrics < \(file)"])
        #expect(check.wait() == 0, "promtool: \(check.output) \(check.errorOutput)")
    }

    @Test("every exported metric is documented in docs/operations.md")
    func metricsDocumented() throws {
        let server = try ServerProcess(dataDirectory: directory.appending("data"))
        defer { server.kill() }
        let exposition = try AdminHTTP(port: try #require(server.adminPort)).get("/metrics").body
        let names = exposition.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map {
            String($0.split(separator: " ")[2])
        }
        #expect(names.count >= 25)
        let docs = try String(contentsOfFile: Self.repository + "/docs/operations.md", encoding: .utf8)
        let undocumented = names.filter { !docs.contains("`\($0)`") }
        #expect(undocumented.isEmpty, "not in docs/operations.md")
    }

    @Test("/healthz answers at once; /readyz is 503 while a long WAL is replayed, then 200")
    func readyAfterRecovery() throws {
        let data = directory.appending("data")
        let server = try ServerProcess(dataDirectory: data, arguments: ["--snapshot-every-changes", "0"])
        let c = try server.client()
        try c.connect()
        // 150 multis of 1000 creates: 150k changes to replay once the store is gone.
        for batch in 0..<150 {
            let ops: [[String: Any]] = (0..<1000).map { ["op": "create", "path": "/n\(batch)-\($0)"] }
            #expect(try c.call(["op": "multi", "ops": ops]).ok)
        }
        server.kill()
        try FileManager.default.removeItem(atPath: data + "/store")

        let restarted = try ChildProcess(
            BuiltProducts.path(of: "cairn"),
            [
                "serve", "--data-dir", data, "--listen", "127.0.0.1:0", "--zk-listen", "none", "--admin-listen",
                "127.0.0.1:0",
            ])
        defer { restarted.kill() }
        var port: Int?
        _ = restarted.waitForOutput(seconds: 30) { lines in
            port =
                lines.lazy.compactMap { line -> Int? in
                    guard line.contains("admin listening"), let colon = line.lastIndex(of: ":") else { return nil }
                    return Int(line[line.index(after: colon)...].prefix { $0.isNumber })
                }.first
            return port != nil
        }
        let admin = AdminHTTP(port: try #require(port, "\(restarted.output)"))
        let recovering = try admin.get("/readyz")
        let stillRecovering = !restarted.output.contains { $0.contains("store open") }
        #expect(try admin.get("/healthz").status == 200)
        if stillRecovering {
            #expect(recovering.status == 503 && recovering.body.contains("recovering"), "\(recovering)")
        }
        #expect(restarted.waitForOutput(seconds: 120) { $0.contains { $0.contains("cairn listening") } })
        #expect(stillRecovering, "the probe came during recovery: \(restarted.output)")
        #expect(try admin.get("/readyz").status == 200)
        let replayed = try admin.metrics()["cairn_recovery_replayed_changes"]
        #expect(
            replayed == Double(150 + 1),
            "the multis and the session: \(restarted.output.filter { $0.contains("store open") })")
    }

    @Test("with credentials configured, /metrics and /status need an operator's or the super user's; probes do not")
    func credentials() throws {
        let server = try ServerProcess(
            dataDirectory: directory.appending("data"),
            arguments: ["--super-digest", Digests.superUser, "--admin-digest", Digests.ops])
        defer { server.kill() }
        let admin = AdminHTTP(port: try #require(server.adminPort))
        #expect(try admin.get("/metrics").status == 401)
        #expect(try admin.get("/status", credentials: "ops:wrong").status == 401)
        #expect(try admin.get("/metrics", credentials: "ops:opspw").status == 200)
        let status = try admin.get("/status", credentials: "super:admin")
        #expect(status.status == 200 && status.body.contains(#""znodes":"#), "\(status)")
        #expect(try admin.get("/readyz").status == 200)
        #expect(try admin.get("/healthz").status == 200)
        #expect(try admin.get("/nowhere").status == 404)
    }

    /// The checkout this test file is in.
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
}
