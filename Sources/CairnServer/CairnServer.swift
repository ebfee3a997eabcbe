import CairnCore
import CairnProtocol
import CairnStore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The single-leader server: listens for JSON-lines clients, runs their requests against the store,
/// keeps sessions alive or expires them, and pushes watch events.
///
/// A `Service`: `run()` serves until graceful shutdown (SIGTERM/SIGINT under a `ServiceGroup`), then stops
/// accepting, lets every connection finish the requests it has read (answering them) and records session
/// deadlines. The store is a service of its own, listed before this one, so it closes after.
public final class CairnServer: Service, Sendable {
    public static let version = CairnVersion.current

    let configuration: ServerConfiguration
    let store: Store
    let connections = ConnectionRegistry()
    let sessions: SessionService
    let watches: WatchHub
    let executor: RequestExecutor
    /// The JSON-lines front end's request decoder.
    let decoder: RequestDecoder
    let logger: Logger
    let metrics: ServerMetrics
    /// Set once a graceful shutdown began: the server is no longer ready.
    private let draining = Atomic(false)
    private let group: MultiThreadedEventLoopGroup
    /// Reports the bound address once listening (for `--listen ...:0`).
    private let onListening: @Sendable (SocketAddress) -> Void

    /// A server over `store` (opened from `configuration.store`), its sessions restored, each with its reconnect
    /// window.
    public init(
        configuration: ServerConfiguration, store: Store, logger: Logger,
        onListening: @escaping @Sendable (SocketAddress) -> Void = { _ in }
    ) throws {
        self.configuration = configuration
        self.logger = logger
        self.onListening = onListening
        self.store = store
        metrics = ServerMetrics(factory: configuration.metrics)
        sessions = SessionService(
            store: store, connections: connections,
            timeouts: configuration.minSessionTimeoutMilliseconds...configuration.maxSessionTimeoutMilliseconds,
            logger: logger)
        try sessions.restore()
        watches = WatchHub(
            zxid: store.recovery.zxid, connections: connections, limit: configuration.maxWatchesPerConnection)
        watches.observe(store)
        executor = RequestExecutor(
            store: store, sessions: sessions, watches: watches, connections: connections,
            access: configuration.access, metrics: metrics, logger: logger)
        decoder = RequestDecoder(maxOpsPerMulti: configuration.maxOpsPerMulti)
        group = MultiThreadedEventLoopGroup(
            numberOfThreads: configuration.eventLoops > 0 ? configuration.eventLoops : System.coreCount)
    }

    public func run() async throws {
        // The grace just granted must be on disk before anyone can crash us into granting another.
        try await sessions.checkpoint()
        let zooKeeper: (any Channel)? =
            if let port = configuration.zooKeeperPort {
                try await listen(ZooKeeperFormat.self, host: configuration.zooKeeperHost, port: port)
            } else {
                nil
            }
        if let address = zooKeeper?.localAddress {
            logger.info(
                "zookeeper protocol listening",
                metadata: ["zk.address": "\(address.ipAddress ?? "?"):\(address.port ?? 0)"])
        }
        let channel = try await listen(JSONLinesFormat.self, host: configuration.host, port: configuration.port)
        let address = channel.localAddress!
        onListening(address)
        logger.info(
            "cairn listening",
            metadata: [
                "address": "\(address.ipAddress ?? configuration.host):\(address.port ?? 0)",
                "dataDirectory": "\(configuration.store.dataDirectory.path)", "zxid": "\(store.recovery.zxid)",
                "tls": "\(configuration.tls != nil)",
            ])
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { tasks in
                tasks.addTask { try await channel.closeFuture.get() }
                if let tls = self.configuration.tls {
                    tasks.addTask {
                        for await _ in await UnixSignalsSequence(trapping: .sighup) { tls.reload(logger: self.logger) }
                    }
                }
                tasks.addTask { await self.every(100) { self.sessions.expireDue() } }
                tasks.addTask { await self.every(self.configuration.reapIntervalMilliseconds) { self.reap() } }
                tasks.addTask {
                    await self.every(self.configuration.sessionCheckpointMilliseconds) {
                        try? await self.sessions.checkpoint()
                    }
                }
                try await channel.closeFuture.get()
                try await zooKeeper?.closeFuture.get()
                tasks.cancelAll()
            }
        } onGracefulShutdown: {
            self.draining.store(true, ordering: .relaxed)
            channel.close(promise: nil)
            zooKeeper?.close(promise: nil)
        }
        try await shutDown()
    }

    /// A listener whose connections speak `format`, behind TLS when it is configured.
    private func listen<Format: WireFormat>(_ format: Format.Type, host: String, port: Int) async throws -> any Channel
    {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(
                .writeBufferWaterMark,
                value: .init(low: configuration.maxOutboundBytes / 2, high: configuration.maxOutboundBytes)
            )
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls = configuration.tls { try channel.pipeline.syncOperations.addHandler(tls.handler()) }
                    try channel.pipeline.syncOperations.addHandler(FrontEndHandler<Format>(server: self))
                }
            }
            .bind(host: host, port: port).get()
    }

    /// After the listener closed: every connection stops reading and closes once it has answered what it read
    /// (after `drainSeconds` the rest are closed), then the sessions' deadlines are recorded.
    private func shutDown() async throws {
        let open = connections.all()
        logger.info("draining connections", metadata: ["connections": "\(open.count)"])
        for connection in open { connection.inbox.post(.drain) }
        let deadline = ContinuousClock.now + .seconds(Self.drainSeconds)
        while connections.count > 0 && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        for connection in connections.all() { connection.channel.close(promise: nil) }
        try? await sessions.checkpoint()
        try await group.shutdownGracefully()
        logger.info("cairn stopped")
    }

    /// How long a shutdown waits for connections to answer the requests they read.
    static let drainSeconds = 10

    private func every(_ milliseconds: Int, _ body: @Sendable () async -> Void) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(milliseconds))
            if Task.isCancelled { return }
            await body()
        }
    }

    /// Every metric the server exports (`ServerConfiguration.metrics`), the store's included.
    public static var metricDefinitions: [MetricDefinition] { ServerMetrics.definitions }

    /// Why the server should not be sent traffic now (a write batch failed, it is shutting down); nil when ready.
    public var unreadiness: String? {
        if draining.load(ordering: .relaxed) { return "shutting down" }
        if let failure = store.writerStatistics.lastFailure { return "the last write failed: \(failure)" }
        return nil
    }

    /// Reads the figures the metrics' gauges show, the bytes queued on each connection (on its event loop) included,
    /// and records them there; returns the request duration histogram in Prometheus' text format
    /// (`ServerMetrics.refresh`).
    func refreshMetrics() async -> [UInt8] {
        guard var figures = try? executor.figures() else { return metrics.refresh(nil) }
        for connection in connections.all() {
            figures.outboundBytes += (try? await connection.channel.getOption(.bufferedWritableBytes).get()) ?? 0
        }
        return metrics.refresh(figures)
    }

    /// A connection closed: its watches go, its session stays (until it expires or is resumed elsewhere).
    func disconnected(_ connection: ConnectionScope) {
        connections.remove(connection.id)
        watches.removeConnection(connection.id)
        if let session = connection.session { sessions.detach(session, from: connection.id) }
    }

    private func reap() {
        store.submit(.reap(now: Int64(SystemClock.wallMilliseconds()))) { [logger] result in
            if case .success(let committed) = result, let change = committed.change {
                logger.debug("reaped", metadata: ["zxid": "\(change.zxid)", "count": "\(change.effects.count)"])
            }
        }
    }
}
