/// A line from the server, decoded by the client: a reply (with `id`) or a pushed event (with `event`).
/// Every field is optional; which ones are present depends on the op (docs/protocol.md).
public struct WireReply: Decodable, Sendable {
    public struct WireError: Decodable, Sendable {
        public var code: String
        public var message: String
        public var index: Int?
        public var oldestZxid: UInt64?

        enum CodingKeys: String, CodingKey {
            case code, message, index
            case oldestZxid = "oldest_zxid"
        }
    }

    public struct WireStat: Decodable, Sendable, Hashable {
        public var czxid: UInt64
        public var mzxid: UInt64
        public var pzxid: UInt64
        public var ctime: Int64
        public var mtime: Int64
        public var version: Int32
        public var cversion: Int32
        public var ephemeralOwner: String?
        public var dataLength: Int32
        public var numChildren: Int32

        enum CodingKeys: String, CodingKey {
            case czxid, mzxid, pzxid, ctime, mtime, version, cversion
            case ephemeralOwner = "ephemeral_owner"
            case dataLength = "data_length"
            case numChildren = "num_children"
        }
    }

    public struct WireResult: Decodable, Sendable {
        public var op: String
        public var path: String?
        public var stat: WireStat?
    }

    public var id: Int64?
    public var ok: Bool?
    public var zxid: UInt64?
    public var error: WireError?
    public var event: String?
    public var type: String?
    public var path: String?
    public var sessionId: String?
    public var password: String?
    public var timeoutMs: Int64?
    public var data: String?
    public var dataB64: String?
    public var stat: WireStat?
    public var children: [String]?
    public var results: [WireResult]?
    public var replayed: Int?
    public var removed: Int?
    public var znodes: Int?
    public var sessions: Int?
    public var watches: Int?
    public var connections: Int?
    public var walBytes: Int?
    public var commitBatches: Int?
    public var committedChanges: Int?
    public var fsyncMicrosecondsTotal: UInt64?
    public var lastSnapshotZxid: UInt64?
    public var uptimeMs: Int64?
    public var writeError: String?
    public var version: String?
    /// A node of a `dump` stream (`{"event":"dump","node":{…}}`).
    public var node: DumpFormat.Node?
    /// A `snapshot` stream's chunk, and the snapshot's size and checksum in its reply.
    public var size: Int?
    public var crc32c: UInt32?
    public var nodes: Int?
    public var root: String?
    public var snapshots: [WireSnapshot]?

    public struct WireSnapshot: Decodable, Sendable {
        public var zxid: UInt64
        public var size: Int
        public var crc32c: UInt32
        public var created: Int64
    }

    enum CodingKeys: String, CodingKey {
        case id, ok, zxid, error, event, type, path, password, data, stat, children, results, replayed, removed
        case znodes, sessions, watches, connections, version, node, size, crc32c, nodes, root, snapshots
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
    }
}
