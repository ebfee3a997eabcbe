import CairnStore
import CoreMetrics

/// Everything `cairn serve` can be told. Every field has a documented default (docs/protocol.md, Limits).
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    /// 0 picks a free port (printed at start).
    public var port = 4181
    /// ZooKeeper's protocol on a listener of its own (nil: none); port 0 picks a free one.
    public var zooKeeperHost = "127.0.0.1"
    public var zooKeeperPort: Int?
    /// The four-letter words the ZooKeeper port answers (`FourLetterWord`); others known get ZooKeeper's "not in the
    /// whitelist" line. ZooKeeper's default is `srvr` alone; kazoo needs `envi`, probes `ruok`.
    public var zooKeeperFourLetterWords: Set<String> = ["ruok", "isro", "envi", "srvr", "stat", "conf", "wchs", "mntr"]
    /// Every four-letter word Cairn knows.
    public static var allZooKeeperFourLetterWords: Set<String> { Set(FourLetterWord.allCases.map { "\($0)" }) }
    /// Longest ZooKeeper frame: ZooKeeper's `jute.maxbuffer` (1 MiB - 1) and its 1 KiB of slack.
    public var maxZooKeeperFrameBytes = 0xFFFFF + 1024
    public var store: Store.Configuration
    /// Negotiated session timeouts are clamped into [min, max].
    public var minSessionTimeoutMilliseconds: Int64 = 1000
    public var maxSessionTimeoutMilliseconds: Int64 = 60000
    /// Longest request line: room for 1 MiB of data as base64, plus the rest of the request.
    public var maxLineBytes = 1_500_000
    public var maxConnections = 10_000
    /// Network threads (NIO event loops) for both ports; 0: one per core. One loop serves clients that send a
    /// request at a time (ZooKeeper's C client) with fewer wake-ups per request; more loops serve more pipelined
    /// throughput (BENCHMARKS.md).
    public var eventLoops = 0
    public var maxWatchesPerConnection = 10_000
    public var maxOpsPerMulti = 1000
    /// Bytes queued to one client before it is disconnected as too slow.
    public var maxOutboundBytes = 8 << 20
    /// Requests of one connection read but not yet answered past which its socket is not read until half of
    /// them are: a client pipelining without bound waits in TCP instead of in the server's memory.
    public var maxRequestsInFlight = 1000
    /// Requests answered later than this after they were read are logged (a warning with op, path, session and time);
    /// 0: none (the default: keeping each request until its answer, for its path, costs ~6% CPU per pipelined write).
    public var slowRequestMilliseconds = 0
    /// How often empty containers and expired TTL nodes are reaped.
    public var reapIntervalMilliseconds = 1000
    /// How often session deadlines are recorded in the store (also at clean shutdown).
    public var sessionCheckpointMilliseconds = 5000
    /// The super user and operator credentials (none by default).
    public var access = AccessPolicy()
    /// Where the server's metrics go (`CairnServer.metricDefinitions`); none by default. The store's are
    /// `store.metrics`.
    public var metrics: any MetricsFactory = NOOPMetricsHandler.instance
    /// TLS on the listener; nil: plaintext.
    public var tls: ServerTLS?

    public init(dataDirectory: String) {
        store = Store.Configuration(dataDirectory: dataDirectory)
    }
}
