import CairnCore

/// A request line's fields as `RequestDecoder` reads them, every one optional (it checks which ones each op
/// needs). Unknown fields are ignored.
struct WireRequest: Codable, Sendable {
    var id: Int64?
    var op: String?
    var path: String?
    var data: String?
    var dataB64: String?
    var version: Int32?
    var ephemeral: Bool?
    var sequential: Bool?
    var container: Bool?
    var ttlMs: Int64?
    var watch: Bool?
    var recursive: Bool?
    var sinceZxid: UInt64?
    var ops: [WireRequest]?
    var timeoutMs: Int64?
    var sessionId: String?
    var password: String?
    /// restore_counters: the sequence counter.
    var seq: Int32?
    /// multi: false answers with the count of ops alone.
    var results: Bool?
    var acl: [WireACLEntry]?
    var aversion: Int32?
    /// auth.
    var scheme: String?
    var credentials: String?
    /// ephemerals.
    var prefix: String?
    /// remove_watch, count_watches: a `WatchSelection`.
    var type: String?
    /// set_watches.
    var relativeZxid: UInt64?
    var dataWatches: [String]?
    var existWatches: [String]?
    var childWatches: [String]?
    var persistentWatches: [String]?
    var recursiveWatches: [String]?
    /// `data` as `RequestScanner` reads it: its UTF-8 bytes, never made a `String` (it is stored as bytes);
    /// `requestData` reads either. Not encoded.
    var dataUTF8: [UInt8]?

    enum CodingKeys: String, CodingKey {
        case id, op, path, data, version, ephemeral, sequential, container, watch, recursive, ops, password, seq
        case acl, aversion, scheme, credentials, prefix, type, results
        case relativeZxid = "relative_zxid"
        case dataWatches = "data_watches"
        case existWatches = "exist_watches"
        case childWatches = "child_watches"
        case persistentWatches = "persistent_watches"
        case recursiveWatches = "recursive_watches"
        case dataB64 = "data_b64"
        case ttlMs = "ttl_ms"
        case sinceZxid = "since_zxid"
        case timeoutMs = "timeout_ms"
        case sessionId = "session_id"
    }

    init(id: Int64? = nil, op: String? = nil) {
        self.id = id
        self.op = op
    }
}

/// An ACL entry on the wire: ZooKeeper's permission bits and a principal.
struct WireACLEntry: Codable, Sendable {
    var perms: UInt32
    var scheme: String
    var id: String

    var entry: ACLEntry { ACLEntry(Permissions(rawValue: perms), Principal(scheme: scheme, id: id)) }
}

/// Just the id of a request, decoded leniently so that an error reply to a request with a bad field still
/// carries the id it was sent with.
struct WireRequestID: Decodable, Sendable {
    var id: Int64?

    enum CodingKeys: String, CodingKey { case id }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try? container.decodeIfPresent(Int64.self, forKey: .id)
    }
}
