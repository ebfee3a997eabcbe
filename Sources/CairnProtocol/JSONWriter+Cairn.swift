import CairnCore
import FoundationEssentials

extension JSONWriter {
    /// `"stat": {czxid, mzxid, pzxid, ctime, mtime, version, cversion, aversion, ephemeral_owner, data_length, num_children}`,
    /// written as one bounded append (every reply to a create or set carries one).
    public mutating func stat(_ key: StaticString, _ stat: Stat) {
        // 11 keys (86 bytes), their quotes, colons and commas (44), values of at most 20 bytes, braces.
        member(key, valueBytes: 86 + 44 + 11 * 20 + 2) { out in
            out.byte(UInt8(ascii: "{"))
            out.key("czxid")
            out.digits(stat.czxid)
            out.field("mzxid", stat.mzxid)
            out.field("pzxid", stat.pzxid)
            out.field("ctime", stat.ctime)
            out.field("mtime", stat.mtime)
            out.field("version", Int64(stat.version))
            out.field("cversion", Int64(stat.cversion))
            out.field("aversion", Int64(stat.aversion))
            out.byte(UInt8(ascii: ","))
            out.key("ephemeral_owner")
            if let owner = stat.ephemeralOwner {
                out.byte(UInt8(ascii: "\""))
                out.hex(owner.rawValue)
                out.byte(UInt8(ascii: "\""))
            } else {
                out.literal("null")
            }
            out.field("data_length", Int64(stat.dataLength))
            out.field("num_children", Int64(stat.numChildren))
            out.byte(UInt8(ascii: "}"))
        }
    }

    /// `"acl": [{"perms": <bits>, "scheme": …, "id": …}, …]`.
    public mutating func acl(_ acl: ACL) {
        beginArray("acl")
        for entry in acl {
            beginElementObject()
            int("perms", entry.permissions.rawValue)
            string("scheme", entry.principal.scheme)
            string("id", entry.principal.id)
            endObject()
        }
        endArray()
    }

    /// `"data": "<text>"` when the bytes are valid UTF-8, else `"data_b64": "<base64>"`; `"data": null` for null data.
    public mutating func data(_ bytes: [UInt8]?) {
        guard let bytes else { return null("data") }
        let isText = bytes.withUnsafeBytes { raw in
            // ASCII is valid UTF-8 as it is; only other bytes need a full check.
            ByteWords.isASCII(raw) || String(validating: raw.assumingMemoryBound(to: UInt8.self), as: UTF8.self) != nil
        }
        if isText {
            key("data")
            bytes.withUnsafeBytes { appendQuoted($0) }
        } else {
            string("data_b64", Data(bytes).base64EncodedString())
        }
    }

    /// A success reply's opening: `{"id": <id>, "ok": true, "zxid": <zxid>`; close it with `endObject()`.
    public mutating func beginSuccess(id: Int64?, zxid: Zxid) {
        beginObject()
        if let id { int("id", id) } else { null("id") }
        bool("ok", true)
        int("zxid", zxid)
    }
}
