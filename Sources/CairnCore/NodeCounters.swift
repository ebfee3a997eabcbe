/// The counters a restore carries over from a dump (`Operation.restoreCounters`): the sequence counter (children ever
/// created: the next sequential suffix), the data version and the ACL version.
public struct NodeCounters: Hashable, Sendable {
    public var sequence: Int32
    public var version: Int32
    public var aversion: Int32

    public init(sequence: Int32, version: Int32, aversion: Int32) {
        self.sequence = sequence
        self.version = version
        self.aversion = aversion
    }

    /// A stat's counters. ZooKeeper's cversion counts both creates and deletes of children, so the creates, the
    /// sequence counter, are `(cversion + numChildren) / 2` (a fresh root, with `/zookeeper` and cversion −1, has 0).
    public init(_ stat: Stat) {
        self.init(
            sequence: Int32((Int64(stat.cversion) + Int64(stat.numChildren)) / 2), version: stat.version,
            aversion: stat.aversion)
    }

    /// Whether restoring these changes nothing on a node that has just been created with no children.
    public var isInitial: Bool { sequence == 0 && version == 0 && aversion == 0 }
}
