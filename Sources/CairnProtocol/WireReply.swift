import CairnCore
import FoundationEssentials

/// Every field a line from the server may carry, all optional (which ones are present depends on the op,
/// docs/protocol.md): what `ServerLine.decode` parses before reading them as a typed event or reply.
struct WireReply: Decodable, Sendable {
    struct WireError: Decodable, Sendable {
        var code: String
        var message: String
        var index: Int?
        var oldestZxid: UInt64?

        enum CodingKeys: String, CodingKey {
            case code, message, index
            case oldestZxid = "oldest_zxid"
        }

        var reply: ErrorReply {
            ErrorReply(
                code: ErrorCode(rawValue: code) ?? .internal, message: message, index: index, oldestZxid: oldestZxid)
        }
    }

    struct WireStat: Decodable, Sendable, Hashable {
        var czxid: UInt64
        var mzxid: UInt64
        var pzxid: UInt64
        var ctime: Int64
        var mtime: Int64
        var version: Int32
        var cversion: Int32
        /// Absent from servers before ACLs.
        var aversion: Int32?
        var ephemeralOwner: String?
        var dataLength: Int32
        var numChildren: Int32

        enum CodingKeys: String, CodingKey {
            case czxid, mzxid, pzxid, ctime, mtime, version, cversion, aversion
            case ephemeralOwner = "ephemeral_owner"
            case dataLength = "data_length"
            case numChildren = "num_children"
        }

        var stat: Stat {
            Stat(
                czxid: czxid, mzxid: mzxid, pzxid: pzxid, ctime: ctime, mtime: mtime, version: version,
                cversion: cversion, aversion: aversion ?? 0,
                ephemeralOwner: ephemeralOwner.flatMap(SessionID.init(hex:)),
                dataLength: dataLength, numChildren: numChildren)
        }
    }

    /// One of a multi's or a read_multi's results.
    struct WireResult: Decodable, Sendable {
        /// Absent from a failed read of a read_multi.
        var op: String?
        var path: String?
        var stat: WireStat?
        var data: String?
        var dataB64: String?
        var children: [String]?
        var error: WireError?

        enum CodingKeys: String, CodingKey {
            case op, path, stat, data, children, error
            case dataB64 = "data_b64"
        }

        init(op: String, path: String?, stat: WireStat?) {
            self.op = op
            self.path = path
            self.stat = stat
        }

        /// A read_multi's read: its reply or its error; nil when a field is missing.
        var read: Result<Reply, ErrorReply>? {
            if let error { return .failure(error.reply) }
            guard let stat else { return nil }
            if let children { return .success(.children(children, stat: stat.stat)) }
            let bytes = data.map { Array($0.utf8) } ?? dataB64.flatMap { Data(base64Encoded: $0) }.map(Array.init)
            return .success(.node(data: bytes, stat: stat.stat))
        }

        /// What the op did; nil when a field its op has is missing.
        var result: OperationResult? {
            switch op ?? "" {
            case "create":
                guard let path = path.flatMap({ try? ZNodePath($0) }), let stat else { return nil }
                return .created(path: path, stat: stat.stat)
            case "set": return stat.map { .set(stat: $0.stat) }
            case "delete": return .deleted
            case "check": return .checked
            case "set_acl": return stat.map { .aclSet(stat: $0.stat) }
            case "restore_counters": return stat.map { .countersRestored(stat: $0.stat) }
            default: return nil
            }
        }
    }

    /// A single change's result, at the top level of its reply.
    var result: OperationResult? { op.flatMap { WireResult(op: $0, path: path, stat: stat).result } }

    /// A get reply's data: `data` (text) or `data_b64`; nil for null data (`"data":null`).
    var bytes: [UInt8]? {
        if let data { return Array(data.utf8) }
        return dataB64.flatMap { Data(base64Encoded: $0) }.map(Array.init)
    }

    var id: Int64?
    var op: String?
    var ok: Bool?
    var zxid: UInt64?
    var error: WireError?
    var event: String?
    var type: String?
    var path: String?
    var sessionId: String?
    var password: String?
    var timeoutMs: Int64?
    var data: String?
    var dataB64: String?
    var stat: WireStat?
    var children: [String]?
    var results: [WireResult]?
    var replayed: Int?
    var removed: Int?
    var znodes: Int?
    var sessions: Int?
    var watches: Int?
    var connections: Int?
    var walBytes: Int?
    var commitBatches: Int?
    var committedChanges: Int?
    var fsyncMicrosecondsTotal: UInt64?
    var lastSnapshotZxid: UInt64?
    var uptimeMs: Int64?
    var writeError: String?
    var version: String?
    var ephemerals: Int?
    var watchesByKind: WireWatchCounts?
    var connectionsByFrontEnd: WireFrontEndCounts?
    var walSegments: Int?
    var storeMapBytes: Int?
    var storeUsedBytes: Int?
    var snapshotsKept: Int?
    var recoveryMs: Int64?
    var recoveryReplayedChanges: Int?
    var latency: [WireLatency]?
    var openSessions: [WireSession]?
    /// A `snapshot` stream's chunk, and the snapshot's size and checksum in its reply.
    var size: Int?
    var crc32c: UInt32?
    var nodes: Int?
    var root: String?
    var snapshots: [WireSnapshot]?
    var acl: [WireACLEntry]?
    var ids: [WirePrincipal]?
    var count: Int?
    var paths: [String]?

    struct WirePrincipal: Codable, Sendable {
        var scheme: String
        var id: String
    }

    struct WireWatchCounts: Decodable, Sendable {
        var data: Int
        var child: Int
        var persistent: Int
        var persistentRecursive: Int

        enum CodingKeys: String, CodingKey {
            case data, child, persistent
            case persistentRecursive = "persistent_recursive"
        }
    }

    struct WireFrontEndCounts: Decodable, Sendable {
        var json: Int
        var zookeeper: Int
    }

    struct WireSession: Decodable, Sendable {
        var sessionId: String
        var timeoutMs: Int64
        var connected: Bool
        var idleMs: Int64
        var ephemerals: Int

        enum CodingKeys: String, CodingKey {
            case connected, ephemerals
            case sessionId = "session_id"
            case timeoutMs = "timeout_ms"
            case idleMs = "idle_ms"
        }
    }

    struct WireLatency: Decodable, Sendable {
        var op: String
        var count: UInt64
        var p50Us: UInt64
        var p99Us: UInt64

        enum CodingKeys: String, CodingKey {
            case op, count
            case p50Us = "p50_us"
            case p99Us = "p99_us"
        }
    }

    struct WireSnapshot: Decodable, Sendable {
        var zxid: UInt64
        var size: Int
        var crc32c: UInt32
        var created: Int64
    }

    enum CodingKeys: String, CodingKey {
        case id, op, ok, zxid, error, event, type, path, password, data, stat, children, results, replayed, removed
        case znodes, sessions, watches, connections, version, size, crc32c, nodes, root, snapshots, acl, ids, count,
            paths, ephemerals, latency
        case sessionId = "session_id"
        case timeoutMs = "timeout_ms"
        case dataB64 = "data_b64"
        case walBytes = "wal_bytes"
        case commitBatches = "commit_batches"
        case committedChanges = "committed_changes"
        case fsyncMicrosecondsTotal = "fsync_us_total"
        case lastSnapshotZxid = "last_snapshot_zxid"
        case uptimeMs = "uptime_ms"
        case writeError = "write_error"
        case watchesByKind = "watches_by_kind"
        case connectionsByFrontEnd = "connections_by_front_end"
        case walSegments = "wal_segments"
        case storeMapBytes = "store_map_bytes"
        case storeUsedBytes = "store_used_bytes"
        case snapshotsKept = "snapshots_kept"
        case recoveryMs = "recovery_ms"
        case recoveryReplayedChanges = "recovery_replayed_changes"
        case openSessions = "open_sessions"
    }
}

extension WireReply.WireStat {
    /// A stat as the protocol carries it (in an extension, so the memberwise initializer stays).
    init(_ stat: Stat) {
        self.init(
            czxid: stat.czxid, mzxid: stat.mzxid, pzxid: stat.pzxid, ctime: stat.ctime, mtime: stat.mtime,
            version: stat.version, cversion: stat.cversion, aversion: stat.aversion,
            ephemeralOwner: stat.ephemeralOwner?.hex, dataLength: stat.dataLength, numChildren: stat.numChildren)
    }
}

extension WireReply {
    /// A `stats` reply's figures; what a server too old to send is 0.
    var statistics: ServerStatistics {
        var s = ServerStatistics(
            znodes: znodes ?? 0, sessions: sessions ?? 0, watches: watches ?? 0, connections: connections ?? 0,
            walBytes: walBytes ?? 0, commitBatches: commitBatches ?? 0, committedChanges: committedChanges ?? 0,
            fsyncMicrosecondsTotal: fsyncMicrosecondsTotal ?? 0, writeError: writeError,
            lastSnapshotZxid: lastSnapshotZxid, uptimeMilliseconds: uptimeMs ?? 0, version: version ?? "")
        s.ephemerals = ephemerals ?? 0
        if let w = watchesByKind {
            s.watchesByKind = WatchCounts(
                data: w.data, child: w.child, persistent: w.persistent, persistentRecursive: w.persistentRecursive)
        }
        if let c = connectionsByFrontEnd {
            s.connectionsByFrontEnd = FrontEndCounts(json: c.json, zooKeeper: c.zookeeper)
        }
        s.walSegments = walSegments ?? 0
        s.storeMapBytes = storeMapBytes ?? 0
        s.storeUsedBytes = storeUsedBytes ?? 0
        s.snapshots = snapshotsKept ?? 0
        s.recoveryMilliseconds = recoveryMs ?? 0
        s.recoveryReplayedChanges = recoveryReplayedChanges ?? 0
        s.latencies = (latency ?? []).map {
            OperationLatency(op: $0.op, count: $0.count, p50Microseconds: $0.p50Us, p99Microseconds: $0.p99Us)
        }
        return s
    }
}
