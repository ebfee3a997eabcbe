import ArgumentParser
import CairnCore
import CairnServer
import CairnStore
import Logging
import ServiceLifecycle
import Synchronization

/// `cairn serve`: runs the server until SIGTERM or SIGINT, then stops gracefully (sessions persist).
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start the server.",
        discussion: """
            With no flags: data in ./cairn-data, listening on 127.0.0.1:4181. Every flag can also be given as an \
            environment variable: CAIRN_ and the flag's name in capitals with _ for -, e.g. CAIRN_DATA_DIR.
            """)

    @Option(help: "Data directory (created when missing).") var dataDir: String = env("DATA_DIR") ?? "./cairn-data"
    @Option(help: "HOST:PORT to listen on; port 0 picks a free port and logs it.")
    var listen: String = env("LISTEN") ?? "127.0.0.1:4181"
    @Option(
        help:
            "HOST:PORT for ZooKeeper's client protocol, so ZooKeeper clients work unchanged (docs/zookeeper.md); port 0 picks a free one; none turns it off."
    )
    var zkListen: String = env("ZK_LISTEN") ?? "127.0.0.1:2181"
    @Option(
        help:
            "Four-letter words the ZooKeeper port answers, comma-separated, or * for all (ruok isro envi srvr stat conf wchs mntr cons)."
    )
    var zkFourLetterWords: String = env("ZK_FOUR_LETTER_WORDS") ?? "ruok,isro,envi,srvr,stat,conf,wchs,mntr"
    @Option(
        help:
            "HOST:PORT for the admin HTTP listener: /metrics (Prometheus), /healthz, /readyz, /status; port 0 picks a free one; none turns it off."
    )
    var adminListen: String = env("ADMIN_LISTEN") ?? "127.0.0.1:4182"
    @Option(help: "Smallest session timeout granted, ms.") var minSessionTimeout: Int64 =
        envInt("MIN_SESSION_TIMEOUT") ?? 1000
    @Option(help: "Largest session timeout granted, ms.") var maxSessionTimeout: Int64 =
        envInt("MAX_SESSION_TIMEOUT") ?? 60000
    @Option(help: "Largest znode data, bytes.") var maxDataSize: Int = envInt("MAX_DATA_SIZE") ?? (1 << 20)
    @Option(help: "Longest request line, bytes.") var maxLineBytes: Int = envInt("MAX_LINE_BYTES") ?? 1_500_000
    @Option(help: "Most open connections.") var maxConnections: Int = envInt("MAX_CONNECTIONS") ?? 10_000
    @Option(help: "Network threads for both ports (0: one per core).") var eventLoops: Int =
        envInt("EVENT_LOOPS") ?? 0
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
    var walDirectIO: Bool = envBool("WAL_DIRECT_IO") ?? true
    @Option(
        name: .customLong("super-digest"),
        help: ArgumentHelp(
            "The super user, who passes every ACL check, as ZooKeeper's digest id user:base64(sha1(user:password)).",
            discussion: "cairnctl digest user:password prints one."))
    var superDigestOption: String?
    @Option(
        name: .customLong("admin-digest"),
        help: "An operator (dump, snapshots, stats; no ACL bypass), as a digest id like --super-digest.")
    var adminDigestOption: String?
    @Option(
        name: .customLong("tls-cert"),
        help: "TLS: the server's certificate chain (PEM). With --tls-key, every connection is TLS.")
    var tlsCertOption: String?
    @Option(name: .customLong("tls-key"), help: "TLS: the certificate's private key (PEM).") var tlsKeyOption: String?
    @Option(
        name: .customLong("tls-ca"),
        help: "TLS: CA certificates (PEM) client certificates are verified against; they give x509 ids.")
    var tlsCaOption: String?

    var superDigest: String? { superDigestOption ?? env("SUPER_DIGEST") }
    var adminDigest: String? { adminDigestOption ?? env("ADMIN_DIGEST") }
    var tlsCert: String? { tlsCertOption ?? env("TLS_CERT") }
    var tlsKey: String? { tlsKeyOption ?? env("TLS_KEY") }
    var tlsCa: String? { tlsCaOption ?? env("TLS_CA") }
    @Flag(help: "TLS: refuse clients without a certificate signed by --tls-ca.")
    var tlsRequireClientCert = envBool("TLS_REQUIRE_CLIENT_CERT") ?? false
    @Flag(
        help:
            "Listen on a non-loopback address with neither TLS nor a super user (anyone who reaches it may do anything)."
    )
    var insecure = envBool("INSECURE") ?? false
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel: String =
        env("LOG_LEVEL") ?? "info"
    @Option(help: "Log lines as text, or json: one object per line (timestamp, level, label, message, metadata).")
    var logFormat: String = env("LOG_FORMAT") ?? "text"
    @Option(help: "Log requests answered later than this after they were read, ms (0: none).")
    var slowRequestMs: Int = envInt("SLOW_REQUEST_MS") ?? 500

    /// Stops the start on a value that does not parse, naming it and where it came from, rather than running on a
    /// default the operator did not choose.
    func validate() throws {
        var problems = malformedEnvironment.withLock { $0 }
        if Logger.Level(rawValue: logLevel) == nil {
            problems.append(
                "--log-level (or CAIRN_LOG_LEVEL) \(logLevel) is not one of trace, debug, info, notice, warning, error, critical"
            )
        }
        if logFormat != "text" && logFormat != "json" {
            problems.append("--log-format (or CAIRN_LOG_FORMAT) \(logFormat) is not text or json")
        }
        if slowRequestMs < 0 { problems.append("--slow-request-ms (or CAIRN_SLOW_REQUEST_MS) must be 0 or more") }
        guard problems.isEmpty else { throw ValidationError(problems.joined(separator: "; ")) }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        let json = logFormat == "json"
        LoggingSystem.bootstrap { label in
            guard !json else {
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
            var handler = StreamLogHandler.standardOutput(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "cairn")
        logger.info("allocator", metadata: ["jemalloc": "\(Allocator.version)"])
        guard let address = HostPort(listen) else {
            throw ValidationError("--listen must be HOST:PORT or [IPv6]:PORT, e.g. 127.0.0.1:4181 or [::1]:4181")
        }
        var configuration = ServerConfiguration(dataDirectory: dataDir)
        configuration.host = address.host
        configuration.port = address.port
        if zkListen != "none" {
            guard let address = HostPort(zkListen) else {
                throw ValidationError("--zk-listen must be HOST:PORT, [IPv6]:PORT or none, e.g. 127.0.0.1:2181")
            }
            configuration.zooKeeperHost = address.host
            configuration.zooKeeperPort = address.port
            let known = ServerConfiguration.allZooKeeperFourLetterWords
            let words = zkFourLetterWords == "*" ? known : Set(zkFourLetterWords.split(separator: ",").map(String.init))
            guard words.isSubset(of: known) else {
                throw ValidationError(
                    "--zk-four-letter-words: unknown \(words.subtracting(known).sorted()); known: \(known.sorted())")
            }
            configuration.zooKeeperFourLetterWords = words
        }
        configuration.minSessionTimeoutMilliseconds = minSessionTimeout
        configuration.maxSessionTimeoutMilliseconds = maxSessionTimeout
        configuration.maxLineBytes = maxLineBytes
        configuration.maxConnections = maxConnections
        guard eventLoops >= 0 else { throw ValidationError("--event-loops must be 0 (one per core) or more") }
        configuration.eventLoops = eventLoops
        configuration.maxWatchesPerConnection = maxWatches
        configuration.maxOpsPerMulti = maxMultiOps
        configuration.maxOutboundBytes = maxOutboundBytes
        configuration.maxRequestsInFlight = maxRequestsInFlight
        configuration.slowRequestMilliseconds = slowRequestMs
        configuration.store.maxDataSize = maxDataSize
        configuration.store.maxMapSize = maxStoreSize
        configuration.store.snapshotEveryChanges = snapshotEveryChanges
        configuration.store.snapshotEveryMilliseconds = snapshotEverySeconds * 1000
        configuration.store.snapshotsToKeep = snapshotsKept
        configuration.store.walSegmentSize = walSegmentSize
        configuration.store.walDirectIO = walDirectIO
        for (flag, digest) in [("--super-digest", superDigest), ("--admin-digest", adminDigest)] {
            if let digest, digest.split(separator: ":", omittingEmptySubsequences: false).count != 2 {
                throw ValidationError("\(flag) must be user:base64(sha1(user:password)) (cairnctl digest prints one)")
            }
        }
        configuration.access = AccessPolicy(superDigest: superDigest, operatorDigest: adminDigest)
        configuration.tls = try tls(logger)
        var admin: HostPort?
        if adminListen != "none" {
            guard let address = HostPort(adminListen) else {
                throw ValidationError("--admin-listen must be HOST:PORT, [IPv6]:PORT or none, e.g. 127.0.0.1:4182")
            }
            admin = address
        }
        let exposed =
            !Self.isLoopback(configuration.host)
            || (configuration.zooKeeperPort != nil && !Self.isLoopback(configuration.zooKeeperHost))
            || (admin.map { !Self.isLoopback($0.host) } ?? false)
        if exposed && configuration.tls == nil && superDigest == nil && !insecure {
            logger.critical(
                """
                refusing to listen on \(configuration.host) with neither TLS nor a super user: set --tls-cert and \
                --tls-key, or --super-digest (and ACLs), or --insecure if anyone who can reach the port may do anything
                """)
            throw ExitCode(2)
        }
        let metrics = PrometheusMetrics(definitions: CairnServer.metricDefinitions)
        configuration.metrics = metrics.factory
        configuration.store.metrics = metrics.factory
        // The admin port answers from before recovery (its /readyz says so) until the store has closed.
        var adminServer: AdminServer?
        do {
            if let admin {
                adminServer = try await AdminServer.listen(
                    host: admin.host, port: admin.port, metrics: metrics, access: configuration.access,
                    tls: configuration.tls, logger: logger)
            }
        } catch {
            logger.critical("cannot listen on --admin-listen \(adminListen): \(error)")
            throw ExitCode(2)
        }
        try await withThrowingTaskGroup { [adminServer] tasks in
            if let adminServer { tasks.addTask { try await adminServer.run() } }
            try await serve(configuration, admin: adminServer, logger: logger)
            tasks.cancelAll()
        }
    }

    /// Recovers the store, then serves until a signal stops the server (it drains first, then the store closes).
    private func serve(_ configuration: ServerConfiguration, admin: AdminServer?, logger: Logger) async throws {
        let store: Store
        let server: CairnServer
        do {
            store = try await Store.opened(configuration.store, logger: logger)
            server = try CairnServer(configuration: configuration, store: store, logger: logger) { _ in
                Self.systemd.notify("READY=1")
            }
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(2)
        }
        admin?.serve(server)
        // Stopped in reverse order: the server drains first, then the store closes.
        let group = ServiceGroup(
            configuration: .init(
                services: [store, server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        Self.systemd.notify("STOPPING=1")
    }

    /// Told when the server serves and when it stops, under systemd's `Type=notify` (tools/systemd).
    private static let systemd = SystemdNotifier(socketPath: getenv("NOTIFY_SOCKET").map { String(cString: $0) })
}

extension Serve {
    /// Loopback listeners are the zero-configuration default; anything else must be secured or declared insecure.
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    private func tls(_ logger: Logger) throws -> ServerTLS? {
        switch (tlsCert, tlsKey) {
        case (nil, nil):
            guard tlsCa == nil && !tlsRequireClientCert else {
                throw ValidationError("--tls-ca and --tls-require-client-cert need --tls-cert and --tls-key")
            }
            return nil
        case (let cert?, let key?):
            if tlsRequireClientCert && tlsCa == nil {
                throw ValidationError("--tls-require-client-cert needs --tls-ca")
            }
            do {
                return try ServerTLS(
                    .init(
                        certificate: cert, privateKey: key, clientCA: tlsCa,
                        requiresClientCertificate: tlsRequireClientCert))
            } catch {
                logger.critical("cannot read the TLS files: \(error)")
                throw ExitCode(2)
            }
        default: throw ValidationError("--tls-cert and --tls-key go together")
        }
    }
}

private func env(_ name: String) -> String? {
    guard let value = getenv("CAIRN_" + name) else { return nil }
    return String(cString: value)
}

/// The `CAIRN_` variables that were set but did not parse, each named with its value: `Serve.validate` reports them.
/// (ArgumentParser evaluates the defaults more than once: each is noted once.)
private let malformedEnvironment = Mutex<[String]>([])

private func noteMalformed(_ problem: String) {
    malformedEnvironment.withLock { if !$0.contains(problem) { $0.append(problem) } }
}

/// `CAIRN_<name>` as an integer; nil when unset, and noted as malformed when it is not one.
private func envInt<T: FixedWidthInteger>(_ name: String) -> T? {
    guard let text = env(name) else { return nil }
    guard let value = T(text) else {
        noteMalformed("the environment's CAIRN_\(name)=\(text) is not an integer")
        return nil
    }
    return value
}

/// `CAIRN_<name>` as a boolean (true, false, 1, 0); nil when unset, and noted as malformed when it is none of those.
private func envBool(_ name: String) -> Bool? {
    guard let text = env(name) else { return nil }
    switch text {
    case "true", "1": return true
    case "false", "0": return false
    default:
        noteMalformed("the environment's CAIRN_\(name)=\(text) is not true, false, 1 or 0")
        return nil
    }
}

#if canImport(Glibc)
import Glibc
#endif
