import CairnCore
import NIOCore

/// The client's side of the records (`cairnctl dump --zookeeper`, `load --zookeeper`): what a ZooKeeper client
/// writes and reads, in the same jute codec the front end uses.
extension ZooKeeperRecords {
    /// A new session's ConnectRequest (protocol 0, no zxid seen, a zeroed password, the readOnly byte).
    public static func writeConnectRequest(timeoutMilliseconds: Int32, into w: inout JuteWriter) {
        w.int(0)
        w.long(0)
        w.int(timeoutMilliseconds)
        w.long(0)
        w.buffer([UInt8](repeating: 0, count: 16))
        w.bool(false)
    }

    /// A ConnectResponse's session id and timeout; timeout 0 is a refused session.
    public static func readConnectResponse(_ r: inout JuteReader) throws(JuteReader.Malformed) -> (
        sessionID: Int64, timeoutMilliseconds: Int32
    ) {
        _ = try r.int()
        let timeout = try r.int()
        let session = try r.long()
        _ = try r.buffer()
        return (session, timeout)
    }

    public static func writeRequestHeader(xid: Int32, type: ZooKeeperOpCode, into w: inout JuteWriter) {
        w.int(xid)
        w.int(type.rawValue)
    }

    /// A reply's header: its xid (-1 for a watch notification, -2 for a ping's answer), the server's zxid, the error
    /// code.
    public struct ReplyHeader: Sendable, Hashable {
        public var xid: Int32
        public var zxid: Int64
        public var error: Int32

        public init(from r: inout JuteReader) throws(JuteReader.Malformed) {
            xid = try r.int()
            zxid = try r.long()
            error = try r.int()
        }
    }

    /// A Stat as `write(_:into:)` writes it.
    public static func readStat(_ r: inout JuteReader) throws(JuteReader.Malformed) -> Stat {
        let czxid = try r.long()
        let mzxid = try r.long()
        let ctime = try r.long()
        let mtime = try r.long()
        let version = try r.int()
        let cversion = try r.int()
        let aversion = try r.int()
        let owner = try r.long()
        let dataLength = try r.int()
        let numChildren = try r.int()
        let pzxid = try r.long()
        return Stat(
            czxid: Zxid(bitPattern: czxid), mzxid: Zxid(bitPattern: mzxid), pzxid: Zxid(bitPattern: pzxid),
            ctime: ctime, mtime: mtime, version: version, cversion: cversion, aversion: aversion,
            ephemeralOwner: owner == 0 ? nil : SessionID(rawValue: UInt64(bitPattern: owner)), dataLength: dataLength,
            numChildren: numChildren)
    }

    /// A notification's WatcherEvent: its type (`eventType`) and path.
    public static func readWatcherEvent(_ r: inout JuteReader) throws(JuteReader.Malformed) -> (
        type: Int32, path: String
    ) {
        let type = try r.int()
        _ = try r.int()
        return (type, try r.string() ?? "")
    }

    /// ZooKeeper's create flags for a node of `kind` (CreateMode: 0 persistent, 1 ephemeral, 4 container, 5 with a
    /// TTL), plus 2 when sequential.
    public static func createFlags(_ kind: NodeKind, sequential: Bool) -> Int32 {
        let base: Int32 =
            switch kind {
            case .persistent: 0
            case .ephemeral: 1
            case .container: 4
            case .persistentWithTTL: 5
            }
        return sequential ? base + 2 : base
    }

    /// A create's request record: CreateRequest{path, data, acl, flags}, or for a TTL node
    /// CreateTTLRequest{…, ttl}; the opcode to send it with comes with it.
    public static func writeCreate(
        _ path: String, data: [UInt8]?, acl: ACL, kind: NodeKind, sequential: Bool, into w: inout JuteWriter
    ) -> ZooKeeperOpCode {
        w.string(path)
        w.buffer(data)
        write(acl, into: &w)
        w.int(createFlags(kind, sequential: sequential))
        switch kind {
        case .persistentWithTTL(let ttl):
            w.long(ttl)
            return .createTTL
        case .container: return .createContainer
        case .persistent, .ephemeral: return .create2
        }
    }

    /// A multi's op header (MultiHeader{type, done, err}) before each op, and the terminator (-1, true, -1).
    public static func writeMultiHeader(_ type: Int32, done: Bool, into w: inout JuteWriter) {
        w.int(type)
        w.bool(done)
        w.int(-1)
    }
}
