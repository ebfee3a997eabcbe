import CairnTesting
import Foundation
import Testing

/// What a connection and a session leave behind once they are gone: nothing. A client that loops reconnecting
/// must not grow the server.
@Suite("Connections and sessions leave nothing behind")
struct ConnectionLifecycleTests {
    let directory = TemporaryDirectory("cairn-lifecycle")

    /// The server's anonymous resident memory (its heap), kB: the store's pages are file-backed and not counted.
    static func anonymousKilobytes(_ pid: Int32) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("RssAnon:") })
        return try #require(Int(line.split(separator: " ")[1]))
    }

    /// One bare TCP connect/close, or one with a session opened and closed.
    static func cycle(port: Int, session: Bool) throws {
        let c = try LineClient(port: port)
        if session {
            try c.connect()
            #expect(try c.call(["op": "close"]).ok)
        }
    }

    @Test(
        "20,000 connections, half of them opening and closing a session: the server's heap returns to within a few MB")
    func noGrowthPerConnection() throws {
        let server = try ServerProcess(dataDirectory: directory.appending("data"))
        // Warm up first, so pools and tables have their working size before the baseline.
        for k in 0..<1000 { try Self.cycle(port: server.port, session: k % 2 == 1) }
        Thread.sleep(forTimeInterval: 0.5)
        let before = try Self.anonymousKilobytes(server.pid)
        for k in 0..<20_000 { try Self.cycle(port: server.port, session: k % 2 == 1) }
        Thread.sleep(forTimeInterval: 1)
        let after = try Self.anonymousKilobytes(server.pid)
        // Each connection used to leak about 6 kB, each with a session about 12 kB: some 180 MB here.
        #expect(after - before < 8 << 10, "the heap grew from \(before) kB to \(after) kB")
        let stats = try server.client().call(["op": "stats"])
        #expect(stats["connections"] as? Int == 1 && stats["sessions"] as? Int == 0, "\(stats)")
    }
}
