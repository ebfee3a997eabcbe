import CairnCore
import CairnProtocol

/// ZooKeeper's four-letter words, answered on the ZooKeeper port before a handshake (then the connection closes):
/// the first four bytes of a connection read as a frame length spell one.
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
        // Read only by the words that show them.
        var tree: (znodes: Int, zxid: Zxid) {
            (try? server.store.read { view in (try view.nodeCount, try view.zxid) }) ?? (0, 0)
        }
        let connections = server.connections.count
        switch self {
        case .ruok: return "imok"
        case .isro: return "rw"
        case .envi:
            return "Environment:\nzookeeper.version=\(Self.version)\nhost.name=localhost\njava.version=none (Cairn)\n"
        case .srvr, .stat:
            let clients = self == .stat ? "Clients:\n\n" : ""
            return """
                Zookeeper version: \(Self.version)
                \(clients)Latency min/avg/max: 0/0.0/0
                Received: 0
                Sent: 0
                Connections: \(connections)
                Outstanding: 0
                Zxid: 0x\(String(tree.zxid, radix: 16))
                Mode: standalone
                Node count: \(tree.znodes)

                """
        case .conf:
            return """
                clientPort=\(server.configuration.zooKeeperPort ?? 0)
                dataDir=\(server.configuration.store.dataDirectory.path)
                minSessionTimeout=\(server.configuration.minSessionTimeoutMilliseconds)
                maxSessionTimeout=\(server.configuration.maxSessionTimeoutMilliseconds)
                serverId=0

                """
        case .wchs: return "\(connections) connections watching 0 paths\nTotal watches:\(server.watches.count)\n"
        case .mntr:
            return """
                zk_version\t\(Self.version)
                zk_server_state\tstandalone
                zk_num_alive_connections\t\(connections)
                zk_outstanding_requests\t0
                zk_znode_count\t\(tree.znodes)
                zk_watch_count\t\(server.watches.count)

                """
        case .cons: return "\n"
        }
    }
}
