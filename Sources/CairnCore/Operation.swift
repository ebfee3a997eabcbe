/// One step of a change: a single op, or one of a multi's (the store applies them; the protocols carry them).
/// Data nil is ZooKeeper's null data (a client's null buffer): kept, and read back, as null, not as empty.
public enum Operation: Sendable, Hashable {
    /// `path` is the full path, or for a sequential create the prefix to which the parent's cversion is
    /// appended as ten digits (it may end with `/`).
    case create(path: String, data: [UInt8]?, kind: NodeKind, sequential: Bool, acl: ACL = .open)
    /// `version` -1 matches any version.
    case delete(path: ZNodePath, version: Int32)
    case setData(path: ZNodePath, data: [UInt8]?, version: Int32)
    case check(path: ZNodePath, version: Int32)
    /// Replaces the node's ACL; `version` (-1 for any) is matched against its `aversion`.
    case setACL(path: ZNodePath, acl: ACL, version: Int32)
    /// Raises the node's counters to at least `counters` (never lowers one): what a load restoring a dump does once
    /// the node's children are in, so that sequential names go on where they were. Needs ADMIN on the node, or an
    /// operator.
    case restoreCounters(path: ZNodePath, counters: NodeCounters)
}

/// What one operation did.
public enum OperationResult: Sendable, Hashable {
    case created(path: ZNodePath, stat: Stat)
    case deleted
    case set(stat: Stat)
    case checked
    case aclSet(stat: Stat)
    case countersRestored(stat: Stat)
}
