import CairnCore
import FoundationEssentials

/// A line the server pushes without being asked, `{"event":"<name>",…}`: watch events, session expiry, and the
/// lines of a streamed answer (dump, snapshot) that come before its reply.
public enum ServerEvent: Sendable, Hashable {
    case watch(WatchNotification, zxid: Zxid)
    /// The connection's session expired; the server closes the connection after this.
    case sessionExpired(SessionID)
    /// A dump begins: the zxid it is consistent at and its root.
    case dumpStart(zxid: Zxid, root: ZNodePath)
    /// One node of a dump: its dump-format line (docs/dump-format.md) without the newline, carried as it is.
    case dumpNode(line: [UInt8])
    /// The next bytes of a snapshot's file.
    case snapshotChunk([UInt8])

    /// The event's line, newline included.
    public func line() -> [UInt8] {
        switch self {
        case .watch(let notification, let zxid): return notification.line(zxid: zxid)
        case .sessionExpired(let id): return Self.line("session_expired") { $0.string("session_id", id.hex) }
        case .dumpStart(let zxid, let root):
            return Self.line("dump_start") {
                $0.int("zxid", zxid)
                $0.string("root", root.string)
            }
        case .dumpNode(let node):
            // `{"event":"dump","node":<the node's line>}`, the node copied in, not re-encoded.
            var line = Self.dumpNodePrefix
            line.reserveCapacity(line.count + node.count + 2)
            line.append(contentsOf: node)
            line.append(contentsOf: "}\n".utf8)
            return line
        case .snapshotChunk(let bytes):
            return Self.line("snapshot_chunk") { $0.string("data_b64", Data(bytes).base64EncodedString()) }
        }
    }

    static let dumpNodePrefix = Array(#"{"event":"dump","node":"#.utf8)

    private static func line(_ name: String, _ fields: (inout JSONWriter) -> Void) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.string("event", name)
        fields(&w)
        w.endObject()
        return w.line()
    }
}
