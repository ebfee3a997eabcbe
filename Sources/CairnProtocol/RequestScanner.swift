/// A fast reader for the common shape of request lines: one JSON object of the protocol's fields, each
/// at most once, whose values are strings without `\u` escapes, integers, booleans, null, (for `ops`) an array
/// of such objects, and (for `acl`) an array of `{perms, scheme, id}` objects. It returns nil for anything else — other JSON, an unknown or repeated field,
/// and every malformed line — and the caller then checks for repeated keys and decodes with `JSONDecoder`,
/// which also words the errors. So it only ever speeds up; it never decides.
enum RequestScanner {
    static func parse(_ bytes: UnsafeRawBufferPointer) -> WireRequest? {
        var scanner = JSONScanner(bytes: bytes)
        var request = WireRequest()
        guard scanner.object(depth: 0, into: &request) else { return nil }
        scanner.skipWhitespace()
        return scanner.atEnd ? request : nil
    }
}

extension JSONScanner {
    /// Reads an object's members into `request`; false when it is not one this scanner reads.
    mutating func object(depth: Int, into request: inout WireRequest) -> Bool {
        guard consume(UInt8(ascii: "{")) else { return false }
        if consume(UInt8(ascii: "}")) { return true }
        var seen: UInt32 = 0
        repeat {
            guard let key = plainString(), consume(UInt8(ascii: ":")) else { return false }
            guard field(key, into: &request, seen: &seen, depth: depth) else { return false }
        } while consume(UInt8(ascii: ","))
        return consume(UInt8(ascii: "}"))
    }

    /// Reads the value of the member named by the bytes at `key` into `r`; false when its type is not the
    /// field's (or not simple), or the name is unknown or already in `seen` (a bit per field). Names are compared
    /// as bytes: no `String` is made for them.
    mutating func field(_ key: Range<Int>, into r: inout WireRequest, seen: inout UInt32, depth: Int) -> Bool {
        guard let field = RequestField.named(UnsafeRawBufferPointer(rebasing: bytes[key])) else { return false }
        let bit: UInt32 = 1 << field.rawValue
        guard seen & bit == 0 else { return false }  // repeated
        seen |= bit
        switch field {
        case .id: return read(&r.id) { $0.integer() }
        case .op: return read(&r.op) { $0.string() }
        case .path: return read(&r.path) { $0.string() }
        case .data:
            // `null` is ZooKeeper's null data here, not an absent field.
            let data: WireData? = null() ? .null : stringBytes().map(WireData.text)
            guard let data else { return false }
            r.data = data
            return true
        case .version: return read(&r.version) { $0.integer().flatMap { Int32(exactly: $0) } }
        case .ephemeral: return read(&r.ephemeral) { $0.boolean() }
        case .sequential: return read(&r.sequential) { $0.boolean() }
        case .watch: return read(&r.watch) { $0.boolean() }
        case .dataB64: return read(&r.dataB64) { $0.string() }
        case .container: return read(&r.container) { $0.boolean() }
        case .ttlMs: return read(&r.ttlMs) { $0.integer() }
        case .recursive: return read(&r.recursive) { $0.boolean() }
        case .sinceZxid: return read(&r.sinceZxid) { $0.integer().flatMap { UInt64(exactly: $0) } }
        case .timeoutMs: return read(&r.timeoutMs) { $0.integer() }
        case .sessionId: return read(&r.sessionId) { $0.string() }
        case .password: return read(&r.password) { $0.string() }
        case .seq: return read(&r.seq) { $0.integer().flatMap { Int32(exactly: $0) } }
        case .aversion: return read(&r.aversion) { $0.integer().flatMap { Int32(exactly: $0) } }
        case .acl: return read(&r.acl) { $0.aclEntries() }
        case .scheme: return read(&r.scheme) { $0.string() }
        case .credentials: return read(&r.credentials) { $0.string() }
        case .results: return read(&r.results) { $0.boolean() }
        case .ops: break
        }
        guard depth == 0, !null() else { return depth == 0 }
        guard consume(UInt8(ascii: "[")) else { return false }
        var ops: [WireRequest] = []
        if !consume(UInt8(ascii: "]")) {
            repeat {
                // Read in place: a request is large, and a copy per sub-op shows in bulk loads.
                ops.append(WireRequest())
                guard object(depth: depth + 1, into: &ops[ops.count - 1]) else { return false }
            } while consume(UInt8(ascii: ","))
            guard consume(UInt8(ascii: "]")) else { return false }
        }
        r.ops = ops
        return true
    }
}

/// The members `RequestScanner` reads (each has a bit in `seen`), the usual ones first.
private enum RequestField: Int, CaseIterable {
    case id, op, path, data, version, ephemeral, sequential, watch, dataB64, container, ttlMs, recursive, sinceZxid
    case timeoutMs, sessionId, password, seq, aversion, acl, scheme, credentials, results, ops

    var name: StaticString {
        switch self {
        case .id: "id"
        case .op: "op"
        case .path: "path"
        case .data: "data"
        case .version: "version"
        case .ephemeral: "ephemeral"
        case .sequential: "sequential"
        case .watch: "watch"
        case .dataB64: "data_b64"
        case .container: "container"
        case .ttlMs: "ttl_ms"
        case .recursive: "recursive"
        case .sinceZxid: "since_zxid"
        case .timeoutMs: "timeout_ms"
        case .sessionId: "session_id"
        case .password: "password"
        case .seq: "seq"
        case .aversion: "aversion"
        case .acl: "acl"
        case .scheme: "scheme"
        case .credentials: "credentials"
        case .results: "results"
        case .ops: "ops"
        }
    }

    /// `allCases` once: the synthesized property makes a new array at every call.
    private static let ordered = allCases

    static func named(_ name: UnsafeRawBufferPointer) -> RequestField? { ordered.first { name.equals($0.name) } }
}
