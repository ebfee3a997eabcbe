import CairnCore
import CoreMetrics

/// What the store records as it works, through swift-metrics: the factory is the configuration's (none by default).
struct StoreMetrics: Sendable {
    let batchChanges: Recorder
    let fsync: Timer
    let snapshot: Timer

    init(factory: any MetricsFactory) {
        batchChanges = Recorder(label: Self.batchChanges.name, factory: factory)
        fsync = Timer(label: Self.fsync.name, factory: factory)
        snapshot = Timer(label: Self.snapshot.name, factory: factory)
    }

    static let batchChanges = MetricDefinition(
        "cairn_commit_batch_changes", .histogram([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096]),
        "Changes made durable by one group commit (one fdatasync).")
    static let fsync = MetricDefinition(
        "cairn_wal_fsync_duration_seconds",
        .histogram([0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]),
        "Time of each WAL fdatasync (one per group commit).")
    static let snapshot = MetricDefinition(
        "cairn_snapshot_duration_seconds", .histogram([0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300]),
        "Time to take a snapshot: checkpoint, copy and retention.")
}

extension Store {
    /// The metrics the store records (`Configuration.metrics`).
    public static let metricDefinitions = [StoreMetrics.batchChanges, StoreMetrics.fsync, StoreMetrics.snapshot]
}

/// The store's files, as `Store.figures` reads them.
public struct StoreFigures: Sendable, Hashable {
    /// Bytes held by the retained WAL segments, and how many there are.
    public var walBytes: Int
    public var walSegments: Int
    /// The LMDB map's size now (it grows by doubling up to `Configuration.maxMapSize`), and the bytes of it in use.
    public var mapBytes: Int
    public var usedBytes: Int
}
