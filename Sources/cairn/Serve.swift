import ArgumentParser
import CairnCore
import CairnServer
import CairnStore
import Foundation
import Logging
import ServiceLifecycle

/// `cairn serve`: runs the server until SIGTERM or SIGINT, then stops gracefully (sessions persist).
///
/// The flags only collect text: every setting is resolved by `SettingLayers` (flag > environment > `--config` file >
/// default), so a value parses, and fails, the same way wherever it was given.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start the server.",
        discussion: """
            With no flags: data in ./cairn-data, listening on 127.0.0.1:4181. Every flag can also be given as an \
            environment variable (CAIRN_ and the flag's name in capitals with _ for -, e.g. CAIRN_DATA_DIR) or as a \
            key in a YAML --config file (data-dir: /var/lib/cairn). A flag wins over the environment, which wins \
            over the file. --print-config shows the result.
            """)

    @Option(help: "A YAML file of settings, keyed by the flags' names (docs/operations.md).") var config: String?
    @Flag(help: "Print the effective settings, as a --config file, and exit.") var printConfig = false
    @Option(help: "Data directory, created when missing (default: ./cairn-data).") var dataDir: String?
    @Option(help: "HOST:PORT to listen on; port 0 picks a free port and logs it (default: 127.0.0.1:4181).")
    var listen: String?
    @Option(
        help:
            "HOST:PORT for ZooKeeper's client protocol, so ZooKeeper clients work unchanged (docs/zookeeper.md); port 0 picks a free one; none turns it off (default: 127.0.0.1:2181)."
    )
    var zkListen: String?
    @Option(
        help:
            "Four-letter words the ZooKeeper port answers, comma-separated, or * for all (ruok isro envi srvr stat conf wchs mntr cons; default: all but cons)."
    )
    var zkFourLetterWords: String?
    @Option(
        help:
            "HOST:PORT for the admin HTTP listener: /metrics (Prometheus), /healthz, /readyz, /status; port 0 picks a free one; none turns it off (default: 127.0.0.1:4182)."
    )
    var adminListen: String?
    @Option(help: "Smallest session timeout granted, ms (default: 1000).") var minSessionTimeout: String?
    @Option(help: "Largest session timeout granted, ms (default: 60000).") var maxSessionTimeout: String?
    @Option(help: "Largest znode data, bytes (default: 1048576).") var maxDataSize: String?
    @Option(help: "Longest request line, bytes (default: 1500000).") var maxLineBytes: String?
    @Option(help: "Most open connections (default: 10000).") var maxConnections: String?
    @Option(help: "Network threads for both ports (default 0: one per core).") var eventLoops: String?
    @Option(help: "Most watches per connection (default: 10000).") var maxWatches: String?
    @Option(help: "Most ops in one multi (default: 1000).") var maxMultiOps: String?
    @Option(help: "Bytes queued to a client before it is disconnected (default: 8388608).") var maxOutboundBytes:
        String?
    @Option(
        help:
            "Requests of one connection in flight before the server stops reading it, until half are answered (default: 1000)."
    )
    var maxRequestsInFlight: String?
    @Option(help: "Largest store (LMDB map), bytes (default: 17179869184).") var maxStoreSize: String?
    @Option(
        help:
            "Snapshot after this many changes (0: never by count), once the WAL has also grown by half the last snapshot's size (default: 100000)."
    ) var snapshotEveryChanges: String?
    @Option(help: "Snapshot after this many seconds with changes (0: never by time; default: 600).")
    var snapshotEverySeconds: String?
    @Option(help: "Snapshots kept; older WAL is deleted with them (default: 3).") var snapshotsKept: String?
    @Option(help: "WAL segment size, bytes (default: 67108864).") var walSegmentSize: String?
    @Option(
        help:
            "WAL appends skip the page cache (O_DIRECT) where the filesystem allows it; false: always buffered (default: true)."
    )
    var walDirectIO: String?
    @Option(
        help: ArgumentHelp(
            "The super user, who passes every ACL check, as ZooKeeper's digest id user:base64(sha1(user:password)).",
            discussion: "cairnctl digest user:password prints one."))
    var superDigest: String?
    @Option(help: "An operator (dump, snapshots, stats; no ACL bypass), as a digest id like --super-digest.")
    var adminDigest: String?
    @Option(help: "TLS: the server's certificate chain (PEM). With --tls-key, every connection is TLS.")
    var tlsCert: String?
    @Option(help: "TLS: the certificate's private key (PEM).") var tlsKey: String?
    @Option(help: "TLS: CA certificates (PEM) client certificates are verified against; they give x509 ids.")
    var tlsCa: String?
    @Flag(help: "TLS: refuse clients without a certificate signed by --tls-ca.") var tlsRequireClientCert = false
    @Flag(
        help:
            "Listen on a non-loopback address with neither TLS nor a super user (anyone who reaches it may do anything)."
    )
    var insecure = false
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (default: info).") var logLevel:
        String?
    @Option(help: "Log lines as text, or json: one object per line (default: text).") var logFormat: String?
    @Option(help: "Log requests answered later than this after they were read, ms (default 0: none).")
    var slowRequestMs: String?

    /// The flags given, by name, as text.
    private var givenFlags: [String: String] {
        let options: [(String, String?)] = [
            ("data-dir", dataDir), ("listen", listen), ("zk-listen", zkListen),
            ("zk-four-letter-words", zkFourLetterWords), ("admin-listen", adminListen),
            ("min-session-timeout", minSessionTimeout), ("max-session-timeout", maxSessionTimeout),
            ("max-data-size", maxDataSize), ("max-line-bytes", maxLineBytes), ("max-connections", maxConnections),
            ("event-loops", eventLoops), ("max-watches", maxWatches), ("max-multi-ops", maxMultiOps),
            ("max-outbound-bytes", maxOutboundBytes), ("max-requests-in-flight", maxRequestsInFlight),
            ("max-store-size", maxStoreSize), ("snapshot-every-changes", snapshotEveryChanges),
            ("snapshot-every-seconds", snapshotEverySeconds), ("snapshots-kept", snapshotsKept),
            ("wal-segment-size", walSegmentSize), ("wal-direct-io", walDirectIO), ("super-digest", superDigest),
            ("admin-digest", adminDigest), ("tls-cert", tlsCert), ("tls-key", tlsKey), ("tls-ca", tlsCa),
            ("tls-require-client-cert", tlsRequireClientCert ? "true" : nil), ("insecure", insecure ? "true" : nil),
            ("log-level", logLevel), ("log-format", logFormat), ("slow-request-ms", slowRequestMs),
        ]
        return Dictionary(uniqueKeysWithValues: options.compactMap { name, value in value.map { (name, $0) } })
    }

    func run() async throws {
        var layers = SettingLayers(
            flags: givenFlags, environment: ProcessInfo.processInfo.environment, configFile: config)
        let settings = ServeSettings(&layers)
        layers.finish()
        guard layers.problems.isEmpty else { throw ValidationError(layers.problems.joined(separator: "; ")) }
        if printConfig { return print(layers.yaml) }
        try await serve(settings)
    }

    private func serve(_ settings: ServeSettings) async throws {
        let level = Logger.Level(rawValue: settings.logLevel) ?? .info
        let json = settings.logFormat == "json"
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
        var configuration = settings.server
        configuration.tls = try tls(settings, logger)
        let exposed =
            !Self.isLoopback(configuration.host)
            || (configuration.zooKeeperPort != nil && !Self.isLoopback(configuration.zooKeeperHost))
            || (settings.admin.map { !Self.isLoopback($0.host) } ?? false)
        if exposed && configuration.tls == nil && settings.superDigest == nil && !settings.insecure {
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
            if let admin = settings.admin {
                adminServer = try await AdminServer.listen(
                    host: admin.host, port: admin.port, metrics: metrics, access: configuration.access,
                    tls: configuration.tls, logger: logger)
            }
        } catch {
            logger.critical(
                "cannot listen on --admin-listen \(settings.admin.map { "\($0.host):\($0.port)" } ?? ""): \(error)")
            throw ExitCode(2)
        }
        try await withThrowingTaskGroup { [adminServer] tasks in
            if let adminServer { tasks.addTask { try await adminServer.run() } }
            try await recoverAndServe(configuration, admin: adminServer, logger: logger)
            tasks.cancelAll()
        }
    }

    /// Recovers the store, then serves until a signal stops the server (it drains first, then the store closes).
    private func recoverAndServe(_ configuration: ServerConfiguration, admin: AdminServer?, logger: Logger) async throws
    {
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

    private func tls(_ settings: ServeSettings, _ logger: Logger) throws -> ServerTLS? {
        switch (settings.tlsCert, settings.tlsKey) {
        case (nil, nil):
            guard settings.tlsCa == nil && !settings.tlsRequireClientCert else {
                throw ValidationError("--tls-ca and --tls-require-client-cert need --tls-cert and --tls-key")
            }
            return nil
        case (let cert?, let key?):
            if settings.tlsRequireClientCert && settings.tlsCa == nil {
                throw ValidationError("--tls-require-client-cert needs --tls-ca")
            }
            do {
                return try ServerTLS(
                    .init(
                        certificate: cert, privateKey: key, clientCA: settings.tlsCa,
                        requiresClientCertificate: settings.tlsRequireClientCert))
            } catch {
                logger.critical("cannot read the TLS files: \(error)")
                throw ExitCode(2)
            }
        default: throw ValidationError("--tls-cert and --tls-key go together")
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
