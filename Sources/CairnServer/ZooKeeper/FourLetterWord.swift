import CairnCore
import CairnProtocol

/// ZooKeeper's four-letter words, answered on the ZooKeeper port before a handshake (then the connection closes):
/// the first four bytes of a connection read as a frame length spell one. Their formats are ZooKeeper 3.8's
/// (ZOOKEEPER-WIRE.md 1.12; docs/zookeeper.md says what differs).
enum FourLetterWord: CaseIterable {
    case ruok, isro, envi, srvr, stat, conf, wchs, mntr, cons

    /// The word a connection's first four bytes spell, read as a big-endian length.
    init?(code: Int32) {
        guard let word = Self.allCases.first(where: { $0.code == code }) else { return nil }
        self = word
    }

    /// The word's four ASCII bytes as the big-endian length they would be.
    var code: Int32 {
        "\(self)".utf8.reduce(Int32(0)) { ($0 << 8) | Int32($1) }
    }

    /// ZooKeeper's version line, with Cairn's: kazoo and tools parse `zookeeper.version=3.9.x`.
    static let version = "3.9.0-cairn-\(CairnServer.version), built on 2026-12-01 00:00 GMT"

    func answer(_ server: CairnServer) -> String {
        switch self {
        case .ruok: return "imok"
        case .isro: return "rw"
        case .envi:
            return "Environment:\nzookeeper.version=\(Self.version)\nhost.name=localhost\njava.version=none (Cairn)\n"
        case .srvr: return "Zookeeper version: \(Self.version)\n" + Self.serverFigures(server)
        case .stat:
            let clients = server.connections.all().map {
                " \($0.statistics.peer)[1](\(Self.counts($0.statistics.snapshot))\n"
            }
            return "Zookeeper version: \(Self.version)\nClients:\n\(clients.joined())\n" + Self.serverFigures(server)
        case .cons:
            return server.connections.all().map { " \($0.statistics.peer)[1](\(Self.details($0))\n" }.joined() + "\n"
        case .conf:
            return """
                clientPort=\(server.configuration.zooKeeperPort ?? 0)
                dataDir=\(server.configuration.store.dataDirectory.path)
                maxClientCnxns=\(server.configuration.maxConnections)
                minSessionTimeout=\(server.configuration.minSessionTimeoutMilliseconds)
                maxSessionTimeout=\(server.configuration.maxSessionTimeoutMilliseconds)
                serverId=0

                """
        case .wchs:
            let (connections, paths, watches) = server.watches.summary
            return "\(connections) connections watching \(paths) paths\nTotal watches:\(watches)\n"
        case .mntr:
            let totals = server.connections.totals
            let tree = Self.tree(server)
            let lines: [(String, String)] = [
                ("version", Self.version), ("server_state", "standalone"), ("ephemerals_count", "\(tree.ephemerals)"),
                ("num_alive_connections", "\(server.connections.count)"), ("avg_latency", "\(totals.latency.average)"),
                ("outstanding_requests", "\(Self.outstanding(server))"), ("znode_count", "\(tree.znodes)"),
                ("global_sessions", "\(server.sessions.count)"), ("packets_sent", "\(totals.sent)"),
                ("packets_received", "\(totals.received)"), ("watch_count", "\(server.watches.count)"),
                ("min_latency", "\(totals.latency.min)"),
                ("uptime", "\(SystemClock.monotonicMilliseconds() - server.executor.startedAt)"),
                ("max_latency", "\(totals.latency.max)"),
            ]
            return lines.map { "zk_\($0.0)\t\($0.1)\n" }.joined()
        }
    }

    /// `srvr`'s figures after its version line (and `stat`'s after its clients).
    private static func serverFigures(_ server: CairnServer) -> String {
        let totals = server.connections.totals
        let tree = tree(server)
        let latency = totals.latency
        return """
            Latency min/avg/max: \(latency.min)/\(latency.average)/\(latency.max)
            Received: \(totals.received)
            Sent: \(totals.sent)
            Connections: \(server.connections.count)
            Outstanding: \(outstanding(server))
            Zxid: 0x\(String(tree.zxid, radix: 16))
            Mode: standalone
            Node count: \(tree.znodes)

            """
    }

    private static func tree(_ server: CairnServer) -> (znodes: Int, ephemerals: Int, zxid: Zxid) {
        (try? server.executor.treeFigures()) ?? (0, 0, 0)
    }

    /// Requests read and not answered yet, on every connection.
    private static func outstanding(_ server: CairnServer) -> UInt64 {
        server.connections.all().reduce(0) { $0 + $1.statistics.snapshot.outstanding }
    }

    /// `queued=…,recved=…,sent=…)`, a connection's line in `stat`.
    private static func counts(_ figures: ConnectionStatistics.Snapshot) -> String {
        "queued=\(figures.outstanding),recved=\(figures.received),sent=\(figures.sent))"
    }

    /// A connection's line in `cons`: `stat`'s, and for one with a session ZooKeeper's details (but `lcxid`, which
    /// Cairn does not keep).
    private static func details(_ handle: ConnectionHandle) -> String {
        let figures = handle.statistics.snapshot
        let counts = counts(figures)
        guard figures.session != 0 else { return counts }
        let latency = figures.latency
        return counts.dropLast()
            + ",sid=0x\(String(figures.session, radix: 16)),lop=\(figures.lastOperation.text)"
            + ",est=\(handle.statistics.established),to=\(figures.timeout),lzxid=0x\(String(figures.lastZxid, radix: 16))"
            + ",lresp=\(figures.lastResponse),llat=\(figures.lastLatency),minlat=\(latency.min)"
            + ",avglat=\(latency.count == 0 ? 0 : latency.total / latency.count),maxlat=\(latency.max))"
    }
}
