import CairnCore

/// A request line: `{"id": <int>, "op": "<name>", ...}`. The client encodes it; the server decodes it,
/// where every field is optional and its parser checks which ones each op needs. Unknown fields are
/// ignored; absent ones are not encoded.
public struct WireRequest: Codable, Sendable {
    public var id: Int64?
    public var op: String?
    public var path: String?
    public var data: String?
    public var dataB64: String?
    public var version: Int32?
    public var ephemeral: Bool?
    public var sequential: Bool?
    public var container: Bool?
    public var ttlMs: Int64?
    public var watch: Bool?
    public var recursive: Bool?
    public var sinceZxid: UInt64?
    public var ops: [WireRequest]?
    public var timeoutMs: Int64?
    public var sessionId: String?
    public var password: String?
    /// dump: include each node's stat.
    public var stat: Bool?
    /// `data` as the server's `RequestScanner` reads it: its UTF-8 bytes, never made a `String` (it is stored
    /// as bytes); `requestData` reads either. Internal, and not encoded: a client sets `data`.
    var dataUTF8: [UInt8]?

    enum CodingKeys: String, CodingKey {
        case id, op, path, data, version, ephemeral, sequential, container, watch, recursive, ops, password, stat
        case dataB64 = "data_b64"
        case ttlMs = "ttl_ms"
        case sinceZxid = "since_zxid"
        case timeoutMs = "timeout_ms"
        case sessionId = "session_id"
    }

    public init(id: Int64? = nil, op: String? = nil) {
        self.id = id
        self.op = op
    }
}

/// Just the id of a request, decoded leniently so that an error reply to a request with a bad field still
/// carries the id it was sent with.
public struct WireRequestID: Decodable, Sendable {
    public var id: Int64?

    enum CodingKeys: String, CodingKey { case id }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try? container.decodeIfPresent(Int64.self, forKey: .id)
    }
}
