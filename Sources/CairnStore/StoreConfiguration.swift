import CoreMetrics

extension Store {
    /// How a store is laid out and limited. Every field has a default a server can run with.
    public struct Configuration: Sendable {
        public var dataDirectory: DataDirectory
        /// Where the store's metrics go (`Store.metricDefinitions`); none by default.
        public var metrics: any MetricsFactory = NOOPMetricsHandler.instance
        /// The LMDB map size at open (LMDB's own default is only 1 MiB).
        public var initialMapSize: Int = 64 << 20
        /// The map grows (doubling) up to this; past it writes fail with `unavailable`.
        public var maxMapSize: Int = 16 << 30
        /// Largest data of one znode.
        public var maxDataSize: Int = 1 << 20
        /// A WAL segment rolls once it holds at least this many bytes.
        public var walSegmentSize: Int = 64 << 20
        /// WAL appends skip the page cache (O_DIRECT) where the filesystem has direct I/O; false: always
        /// through the page cache.
        public var walDirectIO = true
        /// Take a snapshot after this many changes (0: never by count), once the WAL has also grown by half the
        /// last snapshot's size (a large store is not copied whole every few seconds under heavy writes).
        public var snapshotEveryChanges: Int = 100_000
        /// Take a snapshot after this long with changes (0: never by time). The change count and this time run from
        /// the newest snapshot, across restarts.
        public var snapshotEveryMilliseconds: Int = 10 * 60 * 1000
        /// Snapshots kept; WAL segments that no kept snapshot needs are deleted.
        public var snapshotsToKeep: Int = 3
        /// Most requests the writer commits with one fsync.
        public var maxBatch: Int = 1000
        /// The WAL's writes and syncs go through these (a test swaps in a simulated power cut).
        var files: any DurableFiles = SystemFiles()

        public init(dataDirectory: String) {
            self.dataDirectory = DataDirectory(dataDirectory)
        }
    }

    /// How the last open recovered the state.
    public struct RecoveryReport: Sendable, Hashable {
        public enum Source: Sendable, Hashable {
            /// A new, empty store (plus any WAL from zxid 1).
            case empty
            /// The LMDB store as it was left.
            case store
            /// A snapshot, because the store was missing, invalid, or untrustworthy after a power loss.
            case snapshot(zxid: UInt64)
        }

        public var source: Source
        /// Changes replayed from the WAL on top of the source.
        public var replayedChanges: Int
        /// The zxid the store was at once open.
        public var zxid: UInt64
        /// How long the open took, recovery included.
        public var duration: Duration
    }
}
