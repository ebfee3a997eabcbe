import ArgumentParser
import CairnServer
import CairnStore
import Logging
import ServiceLifecycle

/// `cairn serve`: runs the server until SIGTERM or SIGINT, then stops gracefully (sessions persist).
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start the server.",
        discussion: """
            With no flags: data in ./cairn-data, listening on 127.0.0.1:4181. Every flag can also be given as an
            environment variable: CAIRN_ and the flag's name in capitals with _ for -, e.g. CAIRN_DATA_DIR.
            """)

    @Option(help: "Data directory (created when missing).") var dataDir: String = env("DATA_DIR") ?? "./cairn-data"
    @Option(help: "HOST:PORT to listen on; port 0 picks a free port and logs it.")
    var listen: String = env("LISTEN") ?? "127.0.0.1:4181"
    @Option(help: "Smallest session timeout granted, ms.") var minSessionTimeout: Int64 =
        envInt("MIN_SESSION_TIMEOUT") ?? 1000
    @Option(help: "Largest session timeout granted, ms.") var maxSessionTimeout: Int64 =
        envInt("MAX_SESSION_TIMEOUT") ?? 60000
    @Option(help: "Largest znode data, bytes.") var maxDataSize: Int = envInt("MAX_DATA_SIZE") ?? (1 << 20)
    @Option(help: "Longest request line, bytes.") var maxLineBytes: Int = envInt("MAX_LINE_BYTES") ?? 1_500_000
    @Option(help: "Most open connections.") var maxConnections: Int = envInt("MAX_CONNECTIONS") ?? 10_000
    @Option(help: "Most watches per connection.") var maxWatches: Int = envInt("MAX_WATCHES") ?? 10_000
    @Option(help: "Most ops in one multi.") var maxMultiOps: Int = envInt("MAX_MULTI_OPS") ?? 1000
    @Option(help: "Bytes queued to a client before it is disconnected.") var maxOutboundBytes: Int =
        envInt("MAX_OUTBOUND_BYTES") ?? (8 << 20)
    @Option(help: "Requests of one connection in flight before the server stops reading it (until half are answered).")
    var maxRequestsInFlight: Int = envInt("MAX_REQUESTS_IN_FLIGHT") ?? 1000
    @Option(help: "Largest store (LMDB map), bytes.") var maxStoreSize: Int = envInt("MAX_STORE_SIZE") ?? (16 << 30)
    @Option(
        help:
            "Snapshot after this many changes (0: never by count), once the WAL has also grown by half the last snapshot's size."
    ) var snapshotEveryChanges: Int = envInt("SNAPSHOT_EVERY_CHANGES") ?? 100_000
    @Option(help: "Snapshot after this many seconds with changes (0: never by time).") var snapshotEverySeconds: Int =
        envInt("SNAPSHOT_EVERY_SECONDS") ?? 600
    @Option(help: "Snapshots kept (older WAL is deleted with them).") var snapshotsKept: Int =
        envInt("SNAPSHOTS_KEPT") ?? 3
    @Option(help: "WAL segment size, bytes.") var walSegmentSize: Int = envInt("WAL_SEGMENT_SIZE") ?? (64 << 20)
    @Option(help: "WAL appends skip the page cache (O_DIRECT) where the filesystem allows it; false: always buffered.")
    var walDirectIO: Bool = env("WAL_DIRECT_IO").map { $0 != "false" && $0 != "0" } ?? true
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel: String =
        env("LOG_LEVEL") ?? "info"

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardOutput(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "cairn")
        logger.info("allocator", metadata: ["jemalloc": "\(Allocator.version)"])
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) else {
            throw ValidationError("--listen must be HOST:PORT, e.g. 127.0.0.1:4181")
        }
        var configuration = ServerConfiguration(dataDirectory: dataDir)
        configuration.host = String(listen[..<colon])
        configuration.port = port
        configuration.minSessionTimeoutMilliseconds = minSessionTimeout
        configuration.maxSessionTimeoutMilliseconds = maxSessionTimeout
        configuration.maxLineBytes = maxLineBytes
        configuration.maxConnections = maxConnections
        configuration.maxWatchesPerConnection = maxWatches
        configuration.maxOpsPerMulti = maxMultiOps
        configuration.maxOutboundBytes = maxOutboundBytes
        configuration.maxRequestsInFlight = maxRequestsInFlight
        configuration.store.maxDataSize = maxDataSize
        configuration.store.maxMapSize = maxStoreSize
        configuration.store.snapshotEveryChanges = snapshotEveryChanges
        configuration.store.snapshotEveryMilliseconds = snapshotEverySeconds * 1000
        configuration.store.snapshotsToKeep = snapshotsKept
        configuration.store.walSegmentSize = walSegmentSize
        configuration.store.walDirectIO = walDirectIO
        let store: Store
        let server: CairnServer
        do {
            store = try await Store.opened(configuration.store, logger: logger)
            server = try CairnServer(configuration: configuration, store: store, logger: logger)
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(2)
        }
        // Stopped in reverse order: the server drains first, then the store closes.
        let group = ServiceGroup(
            configuration: .init(
                services: [store, server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

private func env(_ name: String) -> String? {
    guard let value = getenv("CAIRN_" + name) else { return nil }
    return String(cString: value)
}

private func envInt<T: FixedWidthInteger>(_ name: String) -> T? { env(name).flatMap { T($0) } }

#if canImport(Glibc)
import Glibc
#endif
