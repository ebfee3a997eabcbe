import CairnCore
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// A line from the server, decoded: a reply to a request, or a pushed event.
///
/// A reply line does not name the op it answers, so it is read in two steps: `decode` gives its id, and
/// `IncomingReply.line(as:)` reads its fields as the reply to the request with that id (`ClientRequest.replyKind`).
public enum ServerLine: Sendable {
    case reply(IncomingReply)
    case event(ServerEvent)

    /// Decodes a line (without its newline). A dump's node lines are recognized without being parsed (the
    /// server writes thousands per second); every other line is parsed whole.
    public static func decode(_ line: [UInt8]) throws(ProtocolViolation) -> ServerLine {
        if line.starts(with: ServerEvent.dumpNodePrefix), line.last == UInt8(ascii: "}") {
            return .event(.dumpNode(line: Array(line[ServerEvent.dumpNodePrefix.count..<line.count - 1])))
        }
        if let wire = line.withUnsafeBytes({ ReplyScanner.parse($0) }) { return .reply(IncomingReply(wire: wire)) }
        let wire: WireReply
        do {
            wire = try JSONDecoder().decode(WireReply.self, from: Data(line))
        } catch {
            throw ProtocolViolation("not a line of the protocol: \(error)")
        }
        guard let name = wire.event else { return .reply(IncomingReply(wire: wire)) }
        return .event(try event(name, wire))
    }

    private static func event(_ name: String, _ wire: WireReply) throws(ProtocolViolation) -> ServerEvent {
        switch name {
        case "watch":
            guard let type = wire.type.flatMap(WatchEventType.init(rawValue:)), let raw = wire.path,
                let path = try? ZNodePath(raw), let zxid = wire.zxid
            else { throw ProtocolViolation("a watch event needs type, path and zxid") }
            return .watch(WatchNotification(type: type, path: path), zxid: zxid)
        case "session_expired":
            guard let id = wire.sessionId.flatMap(SessionID.init(hex:)) else {
                throw ProtocolViolation("session_expired needs a session_id")
            }
            return .sessionExpired(id)
        case "dump_start":
            guard let zxid = wire.zxid, let root = wire.root.flatMap({ try? ZNodePath($0) }) else {
                throw ProtocolViolation("dump_start needs zxid and root")
            }
            return .dumpStart(zxid: zxid, root: root)
        case "snapshot_chunk":
            guard let text = wire.dataB64, let bytes = Data(base64Encoded: text) else {
                throw ProtocolViolation("snapshot_chunk needs data_b64")
            }
            return .snapshotChunk(Array(bytes))
        default: throw ProtocolViolation("unknown event \(name.debugDescription)")
        }
    }
}

/// A line the protocol does not allow (a server bug, or not a Cairn server).
public struct ProtocolViolation: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// A reply whose fields are not read yet: they are read by the op it answers.
public struct IncomingReply: Sendable {
    /// nil when the request's id was unreadable.
    public var id: Int64? { wire.id }
    fileprivate let wire: WireReply

    /// The reply read as the answer to a request of `kind`; a reply lacking a field that kind has is a
    /// failure with code `internal`.
    public func line(as kind: ReplyKind) -> ReplyLine {
        if let error = wire.error { return ReplyLine(id: wire.id, .failed(error.reply)) }
        guard wire.ok == true, let zxid = wire.zxid, let reply = reply(kind) else {
            return ReplyLine(
                id: wire.id, .failed(ErrorReply(code: .internal, message: "a reply lacks fields of \(kind)")))
        }
        return ReplyLine(id: wire.id, .ok(zxid: zxid, reply))
    }

    private func reply(_ kind: ReplyKind) -> Reply? {
        let w = wire
        switch kind {
        case .connected:
            guard let session = w.sessionId.flatMap(SessionID.init(hex:)), let timeout = w.timeoutMs else { return nil }
            let password = w.password.flatMap { Data(base64Encoded: $0) }.map(Array.init)
            return .connected(session: session, password: password, timeoutMilliseconds: timeout)
        case .done: return .done
        case .changed: return w.result.map { .changed($0) }
        case .multi:
            guard let results = w.results else { return nil }
            let decoded = results.compactMap { $0.result }
            return decoded.count == results.count ? .multi(decoded) : nil
        case .reads:
            guard let results = w.results else { return nil }
            let decoded = results.compactMap { $0.read }
            return decoded.count == results.count ? .reads(decoded) : nil
        case .node: return w.stat.map { .node(data: w.bytes, stat: $0.stat) }
        case .exists: return .exists(w.stat?.stat)
        case .children: return w.stat.map { .children(w.children ?? [], stat: $0.stat) }
        case .synced: return w.path.flatMap { try? ZNodePath($0) }.map { .synced(path: $0) }
        case .watchAdded: return w.replayed.map { .watchAdded(replayed: $0) }
        case .watchRemoved: return w.removed.map { .watchRemoved(count: $0) }
        case .stats: return .stats(w.statistics)
        case .dumped: return w.nodes.map { .dumped(nodes: $0) }
        case .snapshotTaken:
            guard let size = w.size, let checksum = w.crc32c else { return nil }
            return .snapshotTaken(size: size, checksum: checksum)
        case .snapshots:
            return w.snapshots.map { list in
                .snapshots(
                    list.map { SnapshotSummary(zxid: $0.zxid, size: $0.size, checksum: $0.crc32c, created: $0.created) }
                )
            }
        case .acl:
            guard let acl = w.acl, let stat = w.stat else { return nil }
            return .acl(ACL(acl.map(\.entry)), stat: stat.stat)
        case .count: return w.count.map { .count($0) }
        case .paths: return w.paths.map { .paths($0) }
        case .sessions:
            return w.openSessions.map { list in
                .sessions(
                    list.compactMap { s in
                        SessionID(hex: s.sessionId).map {
                            SessionSummary(
                                id: $0, timeoutMilliseconds: s.timeoutMs, connected: s.connected,
                                idleMilliseconds: s.idleMs, ephemerals: s.ephemerals)
                        }
                    })
            }
        case .whoAmI:
            return w.ids.map { ids in .whoAmI(ids.map { Principal(scheme: $0.scheme, id: $0.id) }) }
        }
    }
}

extension ServerLine {
    /// What a line is, from its first bytes (the encoders write `event` first in an event, and `id` then `ok` first
    /// in a reply): for a load generator reading a hundred thousand replies a second without parsing them.
    public enum Summary: Sendable, Hashable {
        case event
        case succeeded
        case failed
    }

    public static func summary(of line: UnsafeRawBufferPointer) -> Summary {
        if line.starts(with: eventPrefix) { return .event }
        guard let comma = line.firstIndex(of: UInt8(ascii: ",")) else { return .failed }
        return line[(comma + 1)...].starts(with: okTrue) ? .succeeded : .failed
    }

    /// Where the created path lies in the line of a single create's reply (`"path":"…"`: a path has no characters
    /// JSON escapes).
    public static func createdPath(inReply line: UnsafeRawBufferPointer) -> Range<Int>? {
        guard let key = firstRange(of: pathKey, in: line) else { return nil }
        guard let end = line[key.upperBound...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
        return key.upperBound..<end
    }

    private static let eventPrefix = Array(#"{"event":"#.utf8)
    private static let okTrue = Array(#""ok":true"#.utf8)
    private static let pathKey = Array(#""path":""#.utf8)

    /// memchr for the first byte, memcmp for the rest: no generic collection search per reply.
    private static func firstRange(of needle: [UInt8], in haystack: UnsafeRawBufferPointer) -> Range<Int>? {
        needle.withUnsafeBytes { needle in
            guard let base = haystack.baseAddress, let first = needle.first, haystack.count >= needle.count else {
                return nil
            }
            var from = 0
            while from + needle.count <= haystack.count {
                guard let hit = memchr(base + from, Int32(first), haystack.count - needle.count - from + 1) else {
                    return nil
                }
                let at = base.distance(to: UnsafeRawPointer(hit))
                if memcmp(base + at, needle.baseAddress!, needle.count) == 0 { return at..<at + needle.count }
                from = at + 1
            }
            return nil
        }
    }
}

/// Reads the commonest replies without `JSONDecoder` (whose cost is most of a bulk load's client): an object of
/// `id`, `ok`, `zxid` and a change's `op`, `path` and `stat`, or a multi's `results` of such objects. Any other line
/// (an error, an event, another field) is nil and left to `JSONDecoder`.
enum ReplyScanner {
    static func parse(_ bytes: UnsafeRawBufferPointer) -> WireReply? {
        var s = JSONScanner(bytes: bytes)
        var wire = WireReply()
        guard s.consume(UInt8(ascii: "{")) else { return nil }
        repeat {
            guard let key = s.plainString(), s.consume(UInt8(ascii: ":")) else { return nil }
            let name = UnsafeRawBufferPointer(rebasing: bytes[key])
            let read: Bool
            if name.equals("id") {
                read = s.read(&wire.id) { $0.integer() }
            } else if name.equals("ok") {
                read = s.read(&wire.ok) { $0.boolean() }
            } else if name.equals("zxid") {
                read = s.read(&wire.zxid) { $0.integer().flatMap { UInt64(exactly: $0) } }
            } else if name.equals("results") {
                read = s.read(&wire.results) { results(&$0) }
            } else {
                read = result(name, &s, op: &wire.op, path: &wire.path, stat: &wire.stat)
            }
            guard read else { return nil }
        } while s.consume(UInt8(ascii: ","))
        guard s.consume(UInt8(ascii: "}")) else { return nil }
        s.skipWhitespace()
        return s.atEnd ? wire : nil
    }

    /// A multi's results: objects of `op`, `path` and `stat`.
    private static func results(_ s: inout JSONScanner) -> [WireReply.WireResult]? {
        guard s.consume(UInt8(ascii: "[")) else { return nil }
        var results: [WireReply.WireResult] = []
        if s.consume(UInt8(ascii: "]")) { return results }
        repeat {
            guard s.consume(UInt8(ascii: "{")) else { return nil }
            var op: String?
            var path: String?
            var stat: WireReply.WireStat?
            repeat {
                guard let key = s.plainString(), s.consume(UInt8(ascii: ":")),
                    result(UnsafeRawBufferPointer(rebasing: s.bytes[key]), &s, op: &op, path: &path, stat: &stat)
                else { return nil }
            } while s.consume(UInt8(ascii: ","))
            guard s.consume(UInt8(ascii: "}")), let op else { return nil }
            results.append(WireReply.WireResult(op: op, path: path, stat: stat))
        } while s.consume(UInt8(ascii: ","))
        return s.consume(UInt8(ascii: "]")) ? results : nil
    }

    /// One of a change result's fields; false for any other name or a value not of its type.
    private static func result(
        _ name: UnsafeRawBufferPointer, _ s: inout JSONScanner, op: inout String?, path: inout String?,
        stat: inout WireReply.WireStat?
    ) -> Bool {
        if name.equals("op") { return s.read(&op) { $0.string() } }
        if name.equals("path") { return s.read(&path) { $0.string() } }
        if name.equals("stat") { return s.read(&stat) { $0.stat().map(WireReply.WireStat.init) } }
        return false
    }
}
