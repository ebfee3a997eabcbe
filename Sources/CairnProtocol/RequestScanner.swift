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
        let name = UnsafeRawBufferPointer(rebasing: bytes[key])
        var bit: UInt32 = 1
        /// Whether the name is `candidate`, seen for the first time; each call moves to the next field's bit.
        func first(_ candidate: StaticString) -> Bool {
            defer { bit <<= 1 }
            guard name.count == candidate.utf8CodeUnitCount,
                name.elementsEqual(
                    UnsafeBufferPointer(start: candidate.utf8Start, count: candidate.utf8CodeUnitCount))
            else { return false }
            guard seen & bit == 0 else { return false }
            seen |= bit
            return true
        }
        if first("id") { return read(&r.id) { $0.integer() } }
        if first("op") { return read(&r.op) { $0.string() } }
        if first("path") { return read(&r.path) { $0.string() } }
        if first("data") { return read(&r.dataUTF8) { $0.stringBytes() } }
        if first("version") { return read(&r.version) { $0.integer().flatMap { Int32(exactly: $0) } } }
        if first("ephemeral") { return read(&r.ephemeral) { $0.boolean() } }
        if first("sequential") { return read(&r.sequential) { $0.boolean() } }
        if first("watch") { return read(&r.watch) { $0.boolean() } }
        if first("data_b64") { return read(&r.dataB64) { $0.string() } }
        if first("container") { return read(&r.container) { $0.boolean() } }
        if first("ttl_ms") { return read(&r.ttlMs) { $0.integer() } }
        if first("recursive") { return read(&r.recursive) { $0.boolean() } }
        if first("since_zxid") { return read(&r.sinceZxid) { $0.integer().flatMap { UInt64(exactly: $0) } } }
        if first("timeout_ms") { return read(&r.timeoutMs) { $0.integer() } }
        if first("session_id") { return read(&r.sessionId) { $0.string() } }
        if first("password") { return read(&r.password) { $0.string() } }
        if first("seq") { return read(&r.seq) { $0.integer().flatMap { Int32(exactly: $0) } } }
        if first("aversion") { return read(&r.aversion) { $0.integer().flatMap { Int32(exactly: $0) } } }
        if first("acl") { return read(&r.acl) { $0.aclEntries() } }
        if first("scheme") { return read(&r.scheme) { $0.string() } }
        if first("credentials") { return read(&r.credentials) { $0.string() } }
        if first("results") { return read(&r.results) { $0.boolean() } }
        guard first("ops") else { return false }  // unknown or repeated
        guard depth == 0, !null() else { return depth == 0 }
        guard consume(UInt8(ascii: "[")) else { return false }
        var ops: [WireRequest] = []
        if !consume(UInt8(ascii: "]")) {
            repeat {
                var op = WireRequest()
                guard object(depth: depth + 1, into: &op) else { return false }
                ops.append(op)
            } while consume(UInt8(ascii: ","))
            guard consume(UInt8(ascii: "]")) else { return false }
        }
        r.ops = ops
        return true
    }
}
