import CairnCore
import FoundationEssentials

/// The dump format (docs/dump-format.md): JSON lines, a header then one line per node, parents before
/// children. The server's live dump and `cairnctl dump --data-dir` write the same lines.
public enum DumpFormat {
    public static let name = "cairn-dump"
    /// 2: every node line carries its `seq` and `stat`; 1 (still read): they were optional.
    public static let version = 2

    /// `{"format":"cairn-dump","version":2,"zxid":…,"created":…,"root":"/"}`
    public static func header(zxid: Zxid, created: Int64, root: ZNodePath) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.string("format", name)
        w.int("version", version)
        w.int("zxid", zxid)
        w.int("created", created)
        w.string("root", root.string)
        w.endObject()
        return w.line()
    }

    /// `{"path":…,"data"|"data_b64":…,"kind":…[,"ttl_ms":…][,"owner":…][,"acl":[…]],"seq":…,"stat":{…}}`; no `acl` is
    /// the open ACL; `seq` is the sequence counter (`NodeCounters.sequence`).
    public static func line(_ node: ZNode) -> [UInt8] {
        var w = JSONWriter(capacity: 320 + (node.data?.count ?? 0))
        w.beginObject()
        w.string("path", node.path.string)
        w.data(node.data)
        switch node.kind {
        case .persistent: w.string("kind", "persistent")
        case .container: w.string("kind", "container")
        case .persistentWithTTL(let ttl):
            w.string("kind", "ttl")
            w.int("ttl_ms", ttl)
        case .ephemeral:
            w.string("kind", "ephemeral")
            if let owner = node.stat.ephemeralOwner { w.string("owner", owner.hex) }
        }
        if !node.acl.isOpen { w.acl(node.acl) }
        w.int("seq", NodeCounters(node.stat).sequence)
        w.stat("stat", node.stat)
        w.endObject()
        return w.line()
    }

    /// The header line, decoded.
    public struct Header: Decodable, Sendable {
        public var format: String
        public var version: Int
        public var zxid: UInt64
        public var created: Int64
        public var root: String
    }

    /// A node line, decoded.
    public struct Node: Decodable, Sendable {
        public var path: String
        public var data: String?
        public var dataB64: String?
        public var kind: String
        public var ttlMs: Int64?
        public var owner: String?
        /// Always in version 2; in version 1 with `cairnctl dump --stat` only.
        public var stat: Stat?
        /// The sequence counter; absent in version 1.
        public var seq: Int32?
        /// The node's ACL; absent: `world:anyone` with every permission.
        public var acl: ACL

        enum CodingKeys: String, CodingKey {
            case path, data, kind, owner, stat, acl, seq
            case dataB64 = "data_b64"
            case ttlMs = "ttl_ms"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            path = try c.decode(String.self, forKey: .path)
            data = try c.decodeIfPresent(String.self, forKey: .data)
            dataB64 = try c.decodeIfPresent(String.self, forKey: .dataB64)
            kind = try c.decode(String.self, forKey: .kind)
            ttlMs = try c.decodeIfPresent(Int64.self, forKey: .ttlMs)
            owner = try c.decodeIfPresent(String.self, forKey: .owner)
            stat = try c.decodeIfPresent(WireReply.WireStat.self, forKey: .stat)?.stat
            seq = try c.decodeIfPresent(Int32.self, forKey: .seq)
            acl = try c.decodeIfPresent([WireACLEntry].self, forKey: .acl).map { ACL($0.map(\.entry)) } ?? .open
        }

        /// nil: null data (`"data":null`).
        public var bytes: [UInt8]? {
            if let data { return Array(data.utf8) }
            if let dataB64, let decoded = Data(base64Encoded: dataB64) { return Array(decoded) }
            return nil
        }
    }
}
