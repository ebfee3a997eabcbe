/// One durable change: what a WAL record holds and what history replays.
///
/// A change records effects, not requests: the final path of a sequential create, each ephemeral a
/// closing session deleted. Replaying the effects in zxid order rebuilds exactly the same tree.
public struct Change: Hashable, Sendable {
    public var zxid: Zxid
    /// Milliseconds since the epoch, when the change was applied; the stat times come from it.
    public var time: Int64
    /// The session that asked for it; nil for the server's own changes (expiry, reaping).
    public var session: SessionID?
    public var effects: [Effect]
    /// Not logged: for a change as it was committed, the ACL deciding who may hear each of its watch notifications
    /// (`WatchNotification.of` its effects, in order: a node's own for created, deleted and data_changed, its
    /// parent's for children_changed), as they were when it was applied. nil when every one was the open ACL, and
    /// for a change read back from the WAL.
    public var notificationACLs: [ACL]?

    public init(zxid: Zxid, time: Int64, session: SessionID?, effects: [Effect], notificationACLs: [ACL]? = nil) {
        self.zxid = zxid
        self.time = time
        self.session = session
        self.effects = effects
        self.notificationACLs = notificationACLs
    }

    /// One primitive step of a change. Data nil: null data (see `Operation`).
    public enum Effect: Hashable, Sendable {
        case createNode(path: ZNodePath, data: [UInt8]?, kind: NodeKind, owner: SessionID?, acl: ACL = .open)
        case deleteNode(path: ZNodePath)
        case setData(path: ZNodePath, data: [UInt8]?)
        /// Replaces the node's ACL, bumping its `aversion`.
        case setACL(path: ZNodePath, acl: ACL)
        /// Raises the node's counters to at least these (`Operation.restoreCounters`); no zxid or time in its stat
        /// changes.
        case restoreCounters(path: ZNodePath, counters: NodeCounters)
        /// A version check inside a multi: no effect on the tree, kept so a multi replays as it ran.
        case check(path: ZNodePath, version: Int32)
        case createSession(id: SessionID, timeoutMilliseconds: Int64, passwordHash: [UInt8])
        /// Ends the session; the deletions of its ephemerals precede it in the same change.
        case closeSession(id: SessionID)
    }
}
