import CairnCore
import CairnProtocol
import FoundationEssentials

/// How long a created node lives.
public enum CreateMode: Sendable, Hashable {
    case persistent
    case ephemeral
    case container
    case persistentWithTTL(Duration)
}

/// A node's data and stat.
public struct NodeData: Sendable, Hashable {
    public var data: [UInt8]
    public var stat: Stat

    /// The data as UTF-8 text (lossy).
    public var text: String { String(decoding: data, as: UTF8.self) }
}

/// One op of a multi. Data nil is ZooKeeper's null data (a ZooKeeper client's null buffer), which a load keeps; this
/// client reads it as empty.
public enum MultiOp: Sendable, Hashable {
    case create(
        String, data: [UInt8]? = [], mode: CreateMode = .persistent, sequential: Bool = false, acl: ACL = .open)
    case set(String, data: [UInt8]?, version: Int32 = -1)
    case delete(String, version: Int32 = -1)
    case check(String, version: Int32)
    /// Raises the node's counters to at least these (what a load restoring a dump does); needs ADMIN on it.
    case restoreCounters(String, NodeCounters)
}

/// What one op of a multi did.
public enum MultiResult: Sendable, Hashable {
    case created(path: String, stat: Stat)
    case set(stat: Stat)
    case deleted
    case checked
}

/// One read of `readMulti`.
public enum ReadOp: Sendable, Hashable {
    case get(String)
    case children(String)
}

/// What one read of `readMulti` gave: the node, the children with the parent's stat, or its error alone.
public enum ReadResult: Sendable, Hashable {
    case node(NodeData)
    case children([String], stat: Stat)
    case failed(ClientError)
}

/// The server's `stats`: the zxid it was at and its figures (`ServerStatistics`: `znodes`, `sessions`,
/// `writeError`, … read as members of this).
@dynamicMemberLookup
public struct ServerStats: Sendable, Hashable {
    public var zxid: UInt64
    public var figures: ServerStatistics

    public subscript<T>(dynamicMember member: KeyPath<ServerStatistics, T>) -> T { figures[keyPath: member] }
}

/// A watch event: what changed, where, at which zxid.
public struct WatchEvent: Sendable, Hashable {
    public var type: WatchEventType
    public var path: String
    public var zxid: UInt64
}
