import CairnCore
import CairnProtocol
import CairnStore
import CoreMetrics
import NIOCore
import Synchronization

/// The front ends, as metrics and `stats` name them.
enum FrontEnd: Int, CaseIterable, Sendable {
    case jsonLines, zooKeeper

    var label: String {
        switch self {
        case .jsonLines: "json"
        case .zooKeeper: "zookeeper"
        }
    }
}

/// What the server records, and exports through swift-metrics (the admin port renders it for Prometheus).
///
/// Requests are tallied per event loop (`RequestTally`: plain loads and stores) and summed at each scrape: the
/// request counters then move by what was tallied since the last scrape, and the request duration histogram is
/// written from the same sums (`refresh`). Recording each answer into swift-metrics' shared counters and
/// swift-prometheus' locked histograms cost 7–11% of the server's CPU per request under pipelined load
/// (BENCHMARKS.md). Errors are rare and go to swift-metrics counters directly; gauges are read from the core at each
/// scrape (`refresh`).
final class ServerMetrics: Sendable {
    private let requests: [Counter]
    private let errors: [ErrorCode: Counter]
    private let slowClients: Counter
    private let gauges: Gauges
    private let tallies = Mutex<[ObjectIdentifier: RequestTally]>([:])
    /// The request counts last added to `requests`.
    private let exported = Mutex<[UInt64]>(Array(repeating: 0, count: RequestTally.Layout.coarse))

    init(factory: any MetricsFactory) {
        requests = FrontEnd.allCases.flatMap { frontEnd in
            OperationName.allCases.map { operation in
                Counter(
                    label: Self.requestsTotal.name,
                    dimensions: [("frontend", frontEnd.label), ("op", operation.metricLabel)], factory: factory)
            }
        }
        errors = Dictionary(
            uniqueKeysWithValues: ErrorCode.allCases.map {
                ($0, Counter(label: Self.errorsTotal.name, dimensions: [("code", $0.rawValue)], factory: factory))
            })
        slowClients = Counter(label: Self.slowClientsTotal.name, factory: factory)
        gauges = Gauges(factory: factory)
    }

    /// The tally of the event loop `loop` (a connection's handler records into its loop's alone).
    func tally(for loop: any EventLoop) -> RequestTally {
        tallies.withLock { tallies in
            if let tally = tallies[ObjectIdentifier(loop)] { return tally }
            let tally = RequestTally()
            tallies[ObjectIdentifier(loop)] = tally
            return tally
        }
    }

    /// A request answered with `error`.
    func failed(_ error: ErrorCode) { errors[error]?.increment() }

    /// A client disconnected because it did not read its replies (its outbound queue reached its bound).
    func disconnectedSlowClient() { slowClients.increment() }

    /// Every loop's tally, summed (laid out as `RequestTally.Layout` says).
    private func totals() -> [UInt64] {
        var totals = [UInt64](repeating: 0, count: RequestTally.Layout.size)
        for tally in tallies.withLock({ Array($0.values) }) { tally.add(into: &totals) }
        return totals
    }

    /// For a scrape, from one sum of every loop's tally: with `figures` (nil when they could not be read), sets every
    /// gauge and moves the request counters by what was answered since the last refresh; returns
    /// `cairn_request_duration_seconds` in Prometheus' text format.
    func refresh(_ figures: ServerFigures?) -> [UInt8] {
        let totals = totals()
        if let figures {
            gauges.record(figures)
            exported.withLock { exported in
                for index in requests.indices where totals[index] > exported[index] {
                    requests[index].increment(by: Int64(totals[index] - exported[index]))
                    exported[index] = totals[index]
                }
            }
        }
        return requestDurationExposition(totals)
    }

    /// `cairn_request_duration_seconds` in Prometheus' text format, from `totals` (laid out as `RequestTally.Layout`
    /// says).
    private func requestDurationExposition(_ totals: [UInt64]) -> [UInt8] {
        let name = Self.requestDuration.name
        var text = "# HELP \(name) \(Self.requestDuration.help)\n# TYPE \(name) histogram\n"
        for operation in OperationName.allCases {
            let op = Int(operation.rawValue)
            let base = RequestTally.Layout.coarse + op * RequestTally.Layout.coarsePerOperation
            let label = "op=\"\(operation.metricLabel)\""
            var cumulative: UInt64 = 0
            for (index, bound) in Self.requestDurationBounds.enumerated() {
                cumulative += totals[base + index]
                text += "\(name)_bucket{\(label),le=\"\(bound)\"} \(cumulative)\n"
            }
            cumulative += totals[base + Self.requestDurationBounds.count]
            text += "\(name)_bucket{\(label),le=\"+Inf\"} \(cumulative)\n"
            text += "\(name)_sum{\(label)} \(Double(totals[RequestTally.Layout.sums + op]) / 1e9)\n"
            text += "\(name)_count{\(label)} \(cumulative)\n"
        }
        return Array(text.utf8)
    }

    /// For the `stats` reply: by op answered since the start, how many and the median and 99th percentile, µs.
    func latencies() -> [OperationLatency] {
        let totals = totals()
        return OperationName.allCases.compactMap { operation in
            let start = RequestTally.Layout.fine + Int(operation.rawValue) * LatencyBuckets.count
            let histogram = totals[start..<start + LatencyBuckets.count]
            guard let values = LatencyBuckets.quantiles([0.5, 0.99], of: histogram) else { return nil }
            return OperationLatency(
                op: operation.metricLabel, count: histogram.reduce(0, +), p50Microseconds: (values[0] + 999) / 1000,
                p99Microseconds: (values[1] + 999) / 1000)
        }
    }

    static let requestsTotal = MetricDefinition(
        "cairn_requests_total", .counter, "Requests answered, by front end and op (errors included).")
    static let errorsTotal = MetricDefinition(
        "cairn_request_errors_total", .counter, "Requests answered with an error, by the protocol's error code.")
    static let requestDurationBounds = [
        0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
    ]
    static let requestDuration = MetricDefinition(
        "cairn_request_duration_seconds", .histogram(requestDurationBounds),
        "Time from reading a request to writing its answer, by op.")
    static let slowClientsTotal = MetricDefinition(
        "cairn_slow_client_disconnects_total", .counter,
        "Clients disconnected because their unread replies reached --max-outbound-bytes.")

    /// Every metric the server exports, the store's included.
    static let definitions =
        [requestsTotal, errorsTotal, requestDuration, slowClientsTotal] + Gauges.definitions + Store.metricDefinitions
}

/// The figures the gauges show, read from the core at a scrape.
struct ServerFigures: Sendable {
    var znodes: Int
    var ephemerals: Int
    var zxid: Zxid
    var sessions: Int
    var watches: (data: Int, child: Int, persistent: Int, recursive: Int)
    var connections: [FrontEnd: Int]
    var outboundBytes: Int
    var store: StoreFigures
    var writer: WriterStatistics
    var snapshots: [SnapshotInfo]
    var recovery: Store.RecoveryReport
    var uptime: Duration
}

/// The gauges, made once: a scrape records each.
private struct Gauges: Sendable {
    private let znodes, ephemerals, zxid, sessions, outboundBytes, walBytes, walSegments: Gauge
    private let mapBytes, usedBytes, writable, snapshots, snapshotAge, snapshotSize: Gauge
    private let recoverySeconds, recoveryReplayed, uptime, buildInfo: Gauge
    private let watches: [String: Gauge]
    private let connections: [FrontEnd: Gauge]

    init(factory: any MetricsFactory) {
        func gauge(_ definition: MetricDefinition, _ dimensions: [(String, String)] = []) -> Gauge {
            Gauge(label: definition.name, dimensions: dimensions, factory: factory)
        }
        znodes = gauge(Self.znodes)
        ephemerals = gauge(Self.ephemerals)
        zxid = gauge(Self.zxid)
        sessions = gauge(Self.sessions)
        outboundBytes = gauge(Self.outboundBytes)
        walBytes = gauge(Self.walBytes)
        walSegments = gauge(Self.walSegments)
        mapBytes = gauge(Self.mapBytes)
        usedBytes = gauge(Self.usedBytes)
        writable = gauge(Self.writable)
        snapshots = gauge(Self.snapshots)
        snapshotAge = gauge(Self.snapshotAge)
        snapshotSize = gauge(Self.snapshotSize)
        recoverySeconds = gauge(Self.recoverySeconds)
        recoveryReplayed = gauge(Self.recoveryReplayed)
        uptime = gauge(Self.uptime)
        buildInfo = gauge(Self.buildInfo, [("version", CairnVersion.current)])
        watches = Dictionary(
            uniqueKeysWithValues: ["data", "child", "persistent", "persistent_recursive"].map {
                ($0, gauge(Self.watches, [("kind", $0)]))
            })
        connections = Dictionary(
            uniqueKeysWithValues: FrontEnd.allCases.map { ($0, gauge(Self.connections, [("frontend", $0.label)])) })
    }

    func record(_ figures: ServerFigures) {
        znodes.record(figures.znodes)
        ephemerals.record(figures.ephemerals)
        zxid.record(Double(figures.zxid))
        sessions.record(figures.sessions)
        outboundBytes.record(figures.outboundBytes)
        walBytes.record(figures.store.walBytes)
        walSegments.record(figures.store.walSegments)
        mapBytes.record(figures.store.mapBytes)
        usedBytes.record(figures.store.usedBytes)
        writable.record(figures.writer.lastFailure == nil ? 1 : 0)
        snapshots.record(figures.snapshots.count)
        let newest = figures.snapshots.first
        let age = newest.map { Double(Int64(SystemClock.wallMilliseconds()) - $0.created) / 1000 }
        snapshotAge.record(max(age ?? 0, 0))
        snapshotSize.record(newest?.size ?? 0)
        recoverySeconds.record(figures.recovery.duration.seconds)
        recoveryReplayed.record(figures.recovery.replayedChanges)
        uptime.record(figures.uptime.seconds)
        buildInfo.record(1)
        let (data, child, persistent, recursive) = figures.watches
        for (kind, count) in [
            ("data", data), ("child", child), ("persistent", persistent), ("persistent_recursive", recursive),
        ] {
            watches[kind]?.record(count)
        }
        for (frontEnd, gauge) in connections { gauge.record(figures.connections[frontEnd] ?? 0) }
    }

    static let znodes = MetricDefinition("cairn_znodes", .gauge, "Znodes in the tree, system nodes included.")
    static let ephemerals = MetricDefinition("cairn_ephemeral_nodes", .gauge, "Ephemeral znodes.")
    static let zxid = MetricDefinition("cairn_last_zxid", .gauge, "The zxid of the last change applied.")
    static let sessions = MetricDefinition("cairn_sessions", .gauge, "Open sessions, connected or not.")
    static let watches = MetricDefinition(
        "cairn_watches", .gauge, "Watches held, by kind: data, child, persistent, persistent_recursive.")
    static let connections = MetricDefinition("cairn_connections", .gauge, "Open client connections, by front end.")
    static let outboundBytes = MetricDefinition(
        "cairn_outbound_queued_bytes", .gauge, "Reply and event bytes queued to clients and not yet sent.")
    static let walBytes = MetricDefinition("cairn_wal_bytes", .gauge, "Bytes in the retained WAL segments.")
    static let walSegments = MetricDefinition("cairn_wal_segments", .gauge, "Retained WAL segments.")
    static let mapBytes = MetricDefinition(
        "cairn_store_map_size_bytes", .gauge, "The LMDB map's size now (it grows up to --max-store-size).")
    static let usedBytes = MetricDefinition("cairn_store_used_bytes", .gauge, "Bytes of the LMDB map in use.")
    static let writable = MetricDefinition(
        "cairn_store_writable", .gauge, "1 when the last write batch was durable, 0 when it failed (a full disk).")
    static let snapshots = MetricDefinition("cairn_snapshots", .gauge, "Snapshots kept.")
    static let snapshotAge = MetricDefinition(
        "cairn_snapshot_age_seconds", .gauge, "Age of the newest snapshot (0 when there is none).")
    static let snapshotSize = MetricDefinition(
        "cairn_snapshot_size_bytes", .gauge, "Size of the newest snapshot (0 when there is none).")
    static let recoverySeconds = MetricDefinition(
        "cairn_recovery_duration_seconds", .gauge,
        "How long opening the store took at the last start, recovery included.")
    static let recoveryReplayed = MetricDefinition(
        "cairn_recovery_replayed_changes", .gauge, "WAL changes replayed at the last start.")
    static let uptime = MetricDefinition("cairn_uptime_seconds", .gauge, "Time since the server started serving.")
    static let buildInfo = MetricDefinition("cairn_build_info", .gauge, "Always 1; the version is its label.")

    static let definitions = [
        znodes, ephemerals, zxid, sessions, watches, connections, outboundBytes, walBytes, walSegments, mapBytes,
        usedBytes, writable, snapshots, snapshotAge, snapshotSize, recoverySeconds, recoveryReplayed, uptime,
        buildInfo,
    ]
}

extension Duration {
    /// In seconds, as a metric shows it.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension OperationName {
    /// The op's name as a metric label: the JSON-lines op's where there is one (`get`, `set_data`, …).
    var metricLabel: String {
        switch self {
        case .none: "invalid"
        case .ping: "ping"
        case .session: "connect"
        case .close: "close"
        case .create: "create"
        case .delete: "delete"
        case .setData: "set"
        case .check: "check"
        case .setACL: "set_acl"
        case .multi: "multi"
        case .multiRead: "read_multi"
        case .exists: "exists"
        case .getData: "get"
        case .getChildren: "children"
        case .getACL: "get_acl"
        case .sync: "sync"
        case .setWatches: "set_watches"
        case .addWatch: "add_watch"
        case .checkWatches: "count_watches"
        case .removeWatches: "remove_watch"
        case .ephemerals: "ephemerals"
        case .childrenNumber: "count_descendants"
        case .whoAmI: "whoami"
        case .auth: "auth"
        case .stats: "stats"
        case .sessions: "sessions"
        case .dump: "dump"
        case .snapshot: "snapshot"
        }
    }
}
