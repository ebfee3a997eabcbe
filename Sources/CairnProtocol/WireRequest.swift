import CairnCore

/// A request line's fields as `RequestDecoder` reads them, every one optional (it checks which ones each op
/// needs). Unknown fields are ignored.
struct WireRequest: Codable, Sendable {
    var id: Int64?
    var op: String?
    var path: String?
    var data: WireData?
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

/// A request's `data`: its text as UTF-8 bytes (it is stored as bytes, so `RequestScanner` never makes a `String`
/// of it), or `"data": null`, ZooKeeper's null data, which an absent `data` (empty data) is not.
enum WireData: Codable, Equatable, Sendable {
    case text([UInt8])
    case null

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        self = container.decodeNil() ? .null : .text(Array(try container.decode(String.self).utf8))
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .text(let bytes): try container.encode(String(decoding: bytes, as: UTF8.self))
        case .null: try container.encodeNil()
        }
    }
}

extension KeyedDecodingContainer {
    /// What `WireRequest`'s synthesized decoding calls for `data`: the generic `decodeIfPresent` answers nil for a
    /// null value as for an absent key, and null data must stay null.
    func decodeIfPresent(_ type: WireData.Type, forKey key: Key) throws -> WireData? {
        contains(key) ? try decode(WireData.self, forKey: key) : nil
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
