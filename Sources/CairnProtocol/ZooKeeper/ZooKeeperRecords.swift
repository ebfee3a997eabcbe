import CairnCore
import NIOCore

/// The records of ZooKeeper's client protocol that are not one op's (`zookeeper.jute`): the handshake, the headers
/// around every request and reply, and the shared pieces (Stat, ACL, WatcherEvent).
public enum ZooKeeperRecords {
    /// ConnectRequest: 44 bytes, or 45 with the readOnly flag newer clients send.
    public struct ConnectRequest: Sendable, Hashable {
        public var protocolVersion: Int32
        public var lastZxidSeen: Int64
        public var timeoutMilliseconds: Int32
        /// 0: a new session.
        public var sessionID: Int64
        public var password: [UInt8]
        /// nil when the client sent no readOnly byte (its response then has none either).
        public var readOnly: Bool?

        public init(from r: inout JuteReader) throws(JuteReader.Malformed) {
            protocolVersion = try r.int()
            lastZxidSeen = try r.long()
            timeoutMilliseconds = try r.int()
            sessionID = try r.long()
            password = try r.buffer() ?? []
            readOnly = r.isAtEnd ? nil : try r.bool()
            try r.end()
        }
    }

    /// ConnectResponse: timeout 0 (with session 0 and a zeroed password) tells the client its session is gone.
    public struct ConnectResponse: Sendable, Hashable {
        public var timeoutMilliseconds: Int32
        public var sessionID: Int64
        public var password: [UInt8]
        /// Written only when the request carried one; always false (Cairn is never read-only).
        public var readOnly: Bool?

        public init(timeoutMilliseconds: Int32, sessionID: Int64, password: [UInt8], readOnly: Bool?) {
            self.timeoutMilliseconds = timeoutMilliseconds
            self.sessionID = sessionID
            self.password = password
            self.readOnly = readOnly
        }

        /// The answer to a resume of a session that is gone or whose password is wrong.
        public static func expired(readOnly: Bool?) -> ConnectResponse {
            ConnectResponse(
                timeoutMilliseconds: 0, sessionID: 0, password: [UInt8](repeating: 0, count: 16),
                readOnly: readOnly.map { _ in false })
        }

        public func write(into w: inout JuteWriter) {
            w.int(0)
            w.int(timeoutMilliseconds)
            w.long(sessionID)
            w.buffer(password)
            if readOnly != nil { w.bool(false) }
        }
    }

    /// The header of every request after the handshake.
    public struct RequestHeader: Sendable, Hashable {
        public var xid: Int32
        public var type: Int32

        public init(from r: inout JuteReader) throws(JuteReader.Malformed) {
            xid = try r.int()
            type = try r.int()
        }
    }

    /// The header of every reply and notification: the request's xid (or a special one), the server's zxid, an
    /// error code (0: the reply's record follows).
    public static func replyHeader(xid: Int32, zxid: Int64, error: Int32, into w: inout JuteWriter) {
        w.int(xid)
        w.long(zxid)
        w.int(error)
    }

    /// Stat, 68 bytes. `cversion` as ZooKeeper reports it; `ephemeralOwner` 0 for any node not ephemeral.
    public static func write(_ stat: Stat, into w: inout JuteWriter) {
        w.long(Int64(bitPattern: stat.czxid))
        w.long(Int64(bitPattern: stat.mzxid))
        w.long(stat.ctime)
        w.long(stat.mtime)
        w.int(stat.version)
        w.int(stat.cversion)
        w.int(stat.aversion)
        w.long(stat.ephemeralOwner.map { Int64(bitPattern: $0.rawValue) } ?? 0)
        w.int(stat.dataLength)
        w.int(stat.numChildren)
        w.long(Int64(bitPattern: stat.pzxid))
    }

    public static func readACL(_ r: inout JuteReader) throws(JuteReader.Malformed) -> ACL {
        ACL(
            try r.vector { (r) throws(JuteReader.Malformed) -> ACLEntry in
                let perms = try r.int()
                let scheme = try r.string() ?? ""
                let id = try r.string() ?? ""
                return ACLEntry(Permissions(rawValue: UInt32(bitPattern: perms)), Principal(scheme: scheme, id: id))
            } ?? [])
    }

    public static func write(_ acl: ACL, into w: inout JuteWriter) {
        w.vector(Array(acl)) { w, entry in
            w.int(Int32(bitPattern: entry.permissions.rawValue))
            w.string(entry.principal.scheme)
            w.string(entry.principal.id)
        }
    }

    /// ZooKeeper's event types (`Watcher.Event.EventType`).
    public static func eventType(_ type: WatchEventType) -> Int32 {
        switch type {
        case .created: 1
        case .deleted: 2
        case .dataChanged: 3
        case .childrenChanged: 4
        }
    }

    /// A notification's frame body after its header: WatcherEvent{type, state SyncConnected (3), path}.
    public static func writeWatcherEvent(_ notification: WatchNotification, into w: inout JuteWriter) {
        w.int(eventType(notification.type))
        w.int(3)
        w.string(notification.path.string)
    }
}
