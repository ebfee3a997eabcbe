import CairnCore
import CairnServer
import Logging

/// `cairn serve`'s settings, each resolved from its layers (`SettingLayers`) and checked, turned into the server's
/// configuration. The order here is `--print-config`'s.
struct ServeSettings {
    var server: ServerConfiguration
    /// The admin listener; nil: off.
    var admin: HostPort?
    var superDigest: String?
    var tlsCert: String?
    var tlsKey: String?
    var tlsCa: String?
    var tlsRequireClientCert: Bool
    var insecure: Bool
    var logLevel: String
    var logFormat: String

    init(_ layers: inout SettingLayers) {
        server = ServerConfiguration(dataDirectory: layers.text("data-dir", default: "./cairn-data"))
        let listen = Self.address(&layers, "listen", default: "127.0.0.1:4181", optional: false)
        server.host = listen?.host ?? server.host
        server.port = listen?.port ?? server.port
        let zooKeeper = Self.address(&layers, "zk-listen", default: "127.0.0.1:2181", optional: true)
        server.zooKeeperHost = zooKeeper?.host ?? server.zooKeeperHost
        server.zooKeeperPort = zooKeeper?.port
        let known = ServerConfiguration.allZooKeeperFourLetterWords
        let words = layers.value(
            "zk-four-letter-words", default: server.zooKeeperFourLetterWords,
            expected: "* or a comma-separated list of \(known.sorted().joined(separator: " "))",
            yaml: { "\"\($0.sorted().joined(separator: ","))\"" },
            parse: { text -> Set<String>? in
                let words = text == "*" ? known : Set(text.split(separator: ",").map(String.init))
                return words.isSubset(of: known) ? words : nil
            })
        server.zooKeeperFourLetterWords = words
        admin = Self.address(&layers, "admin-listen", default: "127.0.0.1:4182", optional: true)
        server.minSessionTimeoutMilliseconds = layers.integer("min-session-timeout", default: Int64(1000), minimum: 1)
        server.maxSessionTimeoutMilliseconds = layers.integer("max-session-timeout", default: Int64(60000), minimum: 1)
        server.store.maxDataSize = layers.integer("max-data-size", default: 1 << 20, minimum: 0)
        server.maxLineBytes = layers.integer("max-line-bytes", default: 1_500_000, minimum: 1)
        server.maxConnections = layers.integer("max-connections", default: 10_000, minimum: 1)
        server.eventLoops = layers.integer("event-loops", default: 0, minimum: 0)
        server.maxWatchesPerConnection = layers.integer("max-watches", default: 10_000, minimum: 0)
        server.maxOpsPerMulti = layers.integer("max-multi-ops", default: 1000, minimum: 1)
        server.maxOutboundBytes = layers.integer("max-outbound-bytes", default: 8 << 20, minimum: 1)
        server.maxRequestsInFlight = layers.integer("max-requests-in-flight", default: 1000, minimum: 1)
        server.store.maxMapSize = layers.integer("max-store-size", default: 16 << 30, minimum: 1 << 20)
        server.store.snapshotEveryChanges = layers.integer("snapshot-every-changes", default: 100_000, minimum: 0)
        server.store.snapshotEveryMilliseconds =
            layers.integer("snapshot-every-seconds", default: 600, minimum: 0).multipliedReportingOverflow(by: 1000)
            .partialValue
        server.store.snapshotsToKeep = layers.integer("snapshots-kept", default: 3, minimum: 1)
        server.store.walSegmentSize = layers.integer("wal-segment-size", default: 64 << 20, minimum: 4096)
        server.store.walDirectIO = layers.boolean("wal-direct-io", default: true)
        superDigest = Self.digest(&layers, "super-digest")
        let operatorDigest = Self.digest(&layers, "admin-digest")
        server.access = AccessPolicy(superDigest: superDigest, operatorDigest: operatorDigest)
        tlsCert = layers.optionalText("tls-cert")
        tlsKey = layers.optionalText("tls-key")
        tlsCa = layers.optionalText("tls-ca")
        tlsRequireClientCert = layers.boolean("tls-require-client-cert", default: false)
        insecure = layers.boolean("insecure", default: false)
        logLevel = layers.text("log-level", default: "info", oneOf: Logger.Level.allCases.map(\.rawValue))
        logFormat = layers.text("log-format", default: "text", oneOf: ["text", "json"])
        server.slowRequestMilliseconds = layers.integer("slow-request-ms", default: 0, minimum: 0)
        if server.minSessionTimeoutMilliseconds > server.maxSessionTimeoutMilliseconds {
            layers.problem("min-session-timeout is above max-session-timeout")
        }
    }

    /// HOST:PORT, or [IPv6]:PORT; `none` too when `optional` (then nil).
    private static func address(
        _ layers: inout SettingLayers, _ name: String, default defaultValue: String, optional: Bool
    ) -> HostPort? {
        let expected = optional ? "HOST:PORT or [IPv6]:PORT or none" : "HOST:PORT or [IPv6]:PORT"
        let text = layers.value(
            name, default: defaultValue, expected: expected, yaml: { "\"\($0)\"" },
            parse: { text in (text == "none" && optional) || HostPort(text) != nil ? text : nil })
        return text == "none" ? nil : HostPort(text)
    }

    /// A digest id, `user:base64(sha1(user:password))` (`cairnctl digest` prints one).
    private static func digest(_ layers: inout SettingLayers, _ name: String) -> String? {
        layers.value(
            name, default: nil, expected: "user:base64(sha1(user:password)) (cairnctl digest prints one)",
            yaml: { $0.map { "\"\($0)\"" } ?? "" },
            parse: { text -> String?? in
                // .none: malformed; .some(text): the digest.
                text.split(separator: ":", omittingEmptySubsequences: false).count == 2 ? .some(text) : .none
            })
    }
}
