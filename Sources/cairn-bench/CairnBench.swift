import ArgumentParser
import Cairn
import CairnCore
import CairnProtocol
import Foundation
import Histogram
import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// `cairn-bench`: a load generator for a Cairn server. Pipelined, pre-encoded requests on a few event-loop
/// threads, so most of the machine is left to the server.
@main
struct CairnBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cairn-bench", abstract: "Load a Cairn server and report throughput, latency, CPU and memory.")

    @Option(help: "Server HOST:PORT.") var server = "127.0.0.1:4181"
    @Option(help: "Workload: \(Workload.allCases.map(\.rawValue).joined(separator: ", ")).") var workload: Workload =
        .get
    @Option(help: "Connections.") var connections = 16
    @Option(help: "Requests in flight per connection.") var outstanding = 64
    @Option(help: "Seconds to measure.") var duration: Double = 10
    @Option(help: "Replies to measure, instead of --duration: the run stops at the reply that completes the count.")
    var count: Int?
    @Option(help: "Seconds of warm-up before measuring.") var warmup: Double = 2
    @Option(help: "Bytes of data per write.") var dataSize = 256
    @Option(help: "Preloaded keys for set, get, exists, mixed.") var keys = 10_000
    @Option(help: "Share of reads in the mixed workload.") var readRatio = 0.9
    @Option(help: "Watchers in the watch workload.") var watchers = 16
    @Option(help: "Server process id, for CPU and RSS (from /proc; the server must be local).") var serverPid: Int32?
    @Option(help: "Event-loop threads of the load generator.") var threads = 1
    @Option(help: "How connections wait for replies: \(ClientKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var client: ClientKind = .events
    @Option(
        help:
            "user:password: every node the run creates (preloaded ones too) has an ACL of one digest entry for it, and every connection authenticates as it."
    ) var acl: String?
    @Option(help: "Connect over TLS, trusting the CA certificates in this PEM file (events client only).")
    var tlsCa: String?
    @Flag(help: "JSON output.") var json = false
    @Flag(help: "Measure only the machine's loopback TCP round trip (no server): the floor under a 1 × 1 request.")
    var loopbackFloor = false

    func validate() throws {
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        if client != .events, tlsCa != nil { throw ValidationError("--tls-ca needs --client events") }
        if client != .events, workload == .watch || outstanding != 1 {
            throw ValidationError(
                "--client \(client.rawValue) sends one request at a time: it needs --outstanding 1 and a workload other than watch"
            )
        }
    }

    func run() async throws {
        if loopbackFloor {
            for busyPoll in [false, true] {
                let h = try LoopbackFloor.measure(roundTrips: 20_000, busyPoll: busyPoll)
                print(
                    "loopback TCP round trip, 64 B, \(busyPoll ? "busy-polling" : "blocking") client, \(h.totalCount) round trips"
                )
                print(
                    "  latency µs: p50 \(h.valueAtPercentile(50))  p90 \(h.valueAtPercentile(90))  p99 \(h.valueAtPercentile(99))  max \(h.max)"
                )
            }
            return
        }
        guard let colon = server.lastIndex(of: ":"), let port = Int(server[server.index(after: colon)...]) else {
            throw ValidationError("--server must be HOST:PORT")
        }
        let host = String(server[..<colon])
        try await prepare(host: host, port: port)
        let phase = RunPhase(count: count)
        let lines = try requestLines()
        let tls = try tlsContext()
        let sources = (0..<connections).map {
            RequestSource(workload: workload, index: $0, keys: keys, readRatio: readRatio, lines: lines)
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        var results: [() async throws -> ConnectionResult] = []
        /// Watchers hear events, never replies, so nothing tells them the run is over: they are closed.
        var watcherChannels: [any Channel] = []
        switch client {
        case .events:
            let roles: [BenchConnection.Role] =
                workload == .watch
                ? Array(repeating: .watcher, count: watchers) + [.changer(lines)] : sources.map { .load($0) }
            for role in roles {
                let loop = group.next()
                let finished = loop.makePromise(of: ConnectionResult.self)
                results.append { try await finished.futureResult.get() }
                let outstanding = self.outstanding
                let channel = try await ClientBootstrap(group: loop)
                    .channelOption(.socketOption(.tcp_nodelay), value: 1)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            if let tls {
                                try channel.pipeline.syncOperations.addHandler(
                                    NIOSSLClientHandler(context: tls, serverHostname: nil))
                            }
                            try channel.pipeline.syncOperations.addHandler(
                                BenchConnection(
                                    role: role, lines: lines, outstanding: outstanding, phase: phase,
                                    finished: finished))
                        }
                    }
                    .connect(host: host, port: port).get()
                if case .watcher = role { watcherChannels.append(channel) }
            }
        case .blocking, .busyPoll:
            for source in sources {
                let task = Task { [busyPoll = client == .busyPoll] in
                    try await BlockingConnection.run(
                        host: host, port: port, busyPoll: busyPoll, source: source, phase: phase)
                }
                results.append { try await task.value }
            }
        }
        try await Task.sleep(for: .seconds(warmup))
        let statsBefore = try await serverStats(host: host, port: port)
        let before = serverPid.flatMap(ProcessSample.init(pid:))
        let started = SystemClock.monotonicNanoseconds()
        phase.value.store(RunPhase.measuring, ordering: .relaxed)
        let stopped: UInt64
        if count != nil {
            while phase.value.load(ordering: .acquiring) != RunPhase.stopping {
                try await Task.sleep(for: .milliseconds(1))
            }
            stopped = phase.completedAt.load(ordering: .relaxed)
        } else {
            try await Task.sleep(for: .seconds(duration))
            phase.value.store(RunPhase.stopping, ordering: .relaxed)
            stopped = SystemClock.monotonicNanoseconds()
        }
        let elapsed = Double(stopped - started) / 1e9
        for channel in watcherChannels { try? await channel.close() }
        let after = serverPid.flatMap(ProcessSample.init(pid:))
        let statsAfter = try await serverStats(host: host, port: port)
        var total = ConnectionResult()
        for result in results {
            let one = try await result()
            total.histogram.add(one.histogram)
            total.operations += one.operations
            total.errors += one.errors
        }
        try await group.shutdownGracefully()
        report(total, elapsed: elapsed, before: before, after: after, commits: GroupCommits(statsBefore, statsAfter))
    }

    /// The server's `stats`, read over a connection of its own.
    private func serverStats(host: String, port: Int) async throws -> ServerStats {
        try await CairnClient.withClient(
            try clientConfiguration(host: host, port: port),
            logger: .init(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        ) { try await $0.stats() }
    }

    /// The lines every connection sends, with `--acl`'s ACL and credentials.
    private func requestLines() throws -> RequestLines {
        guard let acl else { return RequestLines(dataSize: dataSize) }
        return RequestLines(
            dataSize: dataSize, acl: [ACLEntry(.all, Principal(scheme: "digest", id: try DigestID.of(acl)))],
            authentication: acl)
    }

    private func tlsConfiguration() -> TLSConfiguration? {
        guard let tlsCa else { return nil }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(tlsCa)
        return tls
    }

    private func tlsContext() throws -> NIOSSLContext? {
        try tlsConfiguration().map { try NIOSSLContext(configuration: $0) }
    }

    /// A library client for setting up and for stats, as the run's connections reach the server.
    private func clientConfiguration(host: String, port: Int) throws -> CairnClient.Configuration {
        var configuration = CairnClient.Configuration(host: host, port: port)
        configuration.requestTimeout = .seconds(30)
        configuration.tls = tlsConfiguration()
        if let acl { configuration.authentication = [.digest(acl)] }
        return configuration
    }

    /// Creates what the workload reads: parents, preloaded keys, a node with 100 children.
    private func prepare(host: String, port: Int) async throws {
        let configuration = try clientConfiguration(host: host, port: port)
        let (workload, keys, dataSize, acl) = (self.workload, self.keys, self.dataSize, try requestLines().acl)
        _ = try await CairnClient.withClient(
            configuration, logger: .init(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        ) { client in
            for parent in ["/bench/c", "/bench/svc", "/bench/k", "/bench/dir"] {
                try await client.createParents(parent)
                // Creates are checked against their parent's ACL: under --acl, the run's one entry.
                if !acl.isOpen { try await client.setACL(parent, acl: acl) }
            }
            if try await client.exists("/bench/w") == nil { try await client.create("/bench/w") }
            if try await client.children("/bench/dir").count < 100 {
                for start in stride(from: 0, to: 100, by: 50) {
                    _ = try? await client.multi((start..<start + 50).map { .create("/bench/dir/child-\($0)") })
                }
            }
            guard workload.needsKeys else { return }
            let data = [UInt8](repeating: 0x6B, count: dataSize)
            if try await client.children("/bench/k").count < keys {
                for start in stride(from: 0, to: keys, by: 500) {
                    let ops = (start..<min(start + 500, keys)).map {
                        MultiOp.create("/bench/k/\($0)", data: data, acl: acl)
                    }
                    do { try await client.multi(ops) } catch let error as ClientError where error.code == .nodeExists {
                        continue
                    }
                }
            }
        }
    }

    private func report(
        _ total: ConnectionResult, elapsed: Double, before: ProcessSample?, after: ProcessSample?, commits: GroupCommits
    ) {
        let h = total.histogram
        let rate = Double(total.operations) / elapsed
        let cycles = workload == .registry ? rate / 2 : rate
        var cpuPer100k: Double?
        if let before, let after, total.operations > 0 {
            cpuPer100k = (after.cpuSeconds - before.cpuSeconds) / Double(total.operations) * 100_000
        }
        let percentiles: [(String, Double)] = [("p50", 50), ("p90", 90), ("p99", 99), ("p99.9", 99.9)]
        if json {
            var object: [String: Any] = [
                "workload": workload.rawValue, "connections": workload == .watch ? watchers : connections,
                "outstanding": workload == .watch ? 1 : outstanding, "duration_s": elapsed,
                "operations": total.operations,
                "ops_per_s": rate, "errors": total.errors, "client": client.rawValue, "latency_us_max": h.max,
                "data_size": dataSize,
            ]
            if workload == .registry { object["cycles_per_s"] = cycles }
            for (name, p) in percentiles { object["latency_us_\(name)"] = h.valueAtPercentile(p) }
            object["server_cpu_s_per_100k_ops"] = cpuPer100k
            object["server_rss_bytes"] = after?.rssBytes
            if workload.writes, commits.fsyncs > 0 {
                object["server_fsyncs"] = commits.fsyncs
                object["server_changes_per_fsync"] = commits.changesPerFsync
                object["server_fsync_us_avg"] = commits.microsecondsPerFsync
            }
            let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print(
            "workload \(workload.rawValue): \(workload == .watch ? "\(watchers) watchers" : "\(connections) connections × \(outstanding) outstanding"), \(String(format: "%.1f", elapsed)) s, \(client.rawValue) client"
        )
        print(
            String(
                format: "  %.0f ops/s%@, %d errors", rate,
                workload == .registry ? String(format: " (%.0f cycles/s)", cycles) : "", total.errors))
        print(
            "  latency µs: " + percentiles.map { "\($0.0) \(h.valueAtPercentile($0.1))" }.joined(separator: "  ")
                + "  max \(h.max)")
        if let cpuPer100k { print(String(format: "  server CPU: %.2f s per 100k ops", cpuPer100k)) }
        if let after { print(String(format: "  server RSS: %.1f MB", Double(after.rssBytes) / 1e6)) }
        if workload.writes, commits.fsyncs > 0 {
            print(
                String(
                    format: "  group commit: %.1f changes per fdatasync (%d fdatasyncs, %.0f µs each)",
                    commits.changesPerFsync, commits.fsyncs, commits.microsecondsPerFsync))
        }
    }
}

/// The server's group commits during the measured part of a run (from `stats` before and after; the two
/// stats connections add a session each, which is noise next to a run's changes).
struct GroupCommits {
    var fsyncs: Int
    var changes: Int
    var fsyncMicroseconds: UInt64

    init(_ before: ServerStats, _ after: ServerStats) {
        fsyncs = after.commitBatches - before.commitBatches
        changes = after.committedChanges - before.committedChanges
        fsyncMicroseconds = after.fsyncMicrosecondsTotal - before.fsyncMicrosecondsTotal
    }

    var changesPerFsync: Double { Double(changes) / Double(max(fsyncs, 1)) }
    var microsecondsPerFsync: Double { Double(fsyncMicroseconds) / Double(max(fsyncs, 1)) }
}
