import CairnCore
import LMDB

/// A node's internal id: the key of its record. The root is 1; ids are never reused or shown outside.
typealias NodeID = UInt64

extension NodeID {
    static let root: NodeID = 1

    /// Big-endian, so LMDB's byte order is numeric order.
    var key: [UInt8] { withUnsafeBytes(of: bigEndian) { Array($0) } }

    /// Calls `body` with the key (as `key`), without allocating it.
    @discardableResult
    func withKey<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(of: bigEndian, body)
    }

    init(key raw: UnsafeRawBufferPointer) { self = UInt64(bigEndian: raw.loadUnaligned(as: UInt64.self)) }
}

/// A znode as stored in the `nodes` database, keyed by its `NodeID`.
///
/// Layout (little-endian): parent u64, czxid u64, mzxid u64, pzxid u64, ctime i64, mtime i64, version i32,
/// childCreates i32, aversion i32, numChildren i32, owner u64 (0 = none), kind, name (u32 + bytes), data
/// (u32 + bytes; length `UInt32.max` for null data), then the ACL, unless it is the open one: a record that ends after its data (every record written
/// before ACLs) is `world:anyone` with every permission.
struct NodeRecord: Sendable {
    var parent: NodeID
    var name: String
    /// Invariant: `stat.cversion` is `2 × childCreates − numChildren` (see `childCreates`).
    var stat: Stat
    /// Children ever created under the node: the next sequential suffix. As in ZooKeeper, this is what is stored,
    /// and the cversion reported is derived from it (creates + deletes = 2 × creates − children). Stores of format 1
    /// counted deletes here too (see `DataFormat`).
    private(set) var childCreates: Int32
    var kind: NodeKind
    /// nil: null data (see `Operation`).
    var data: [UInt8]?
    var acl: ACL

    /// The bytes `encode` writes.
    var encodedCount: Int {
        72 + kind.encodedCount + 4 + name.utf8.count + 4 + (data?.count ?? 0) + (acl.isOpen ? 0 : acl.encodedCount)
    }

    func encode(into w: inout some ByteSink) {
        w.write(parent)
        w.write(stat.czxid)
        w.write(stat.mzxid)
        w.write(stat.pzxid)
        w.write(stat.ctime)
        w.write(stat.mtime)
        w.write(stat.version)
        w.write(childCreates)
        w.write(stat.aversion)
        w.write(stat.numChildren)
        w.write(stat.ephemeralOwner?.rawValue ?? 0)
        kind.encode(into: &w)
        w.write(string: name)
        w.write(optionalBytes: data)
        if !acl.isOpen { acl.encode(into: &w) }
    }

    /// Stores the record under `id`, encoded straight into the space LMDB reserves for it. `new` says `id` is
    /// past every stored node's (ids only grow), so it goes at the end of the tree (`.append`).
    func put(_ id: NodeID, in db: Database, new: Bool = false, _ txn: Transaction) throws {
        try id.withKey { key in
            try txn.put(db, key: key, reserving: encodedCount, flags: new ? .append : []) { space in
                var w = ReservedSpaceWriter(space)
                encode(into: &w)
                precondition(w.count == space.count, "a node record's encodedCount is not what encode wrote")
            }
        }
    }

    /// A new node's record: no children yet (`stat`'s cversion and numChildren are 0).
    init(parent: NodeID, name: String, stat: Stat, kind: NodeKind, data: [UInt8]?, acl: ACL) {
        precondition(stat.cversion == 0 && stat.numChildren == 0, "a new node has had no children")
        self.parent = parent
        self.name = name
        self.stat = stat
        childCreates = 0
        self.kind = kind
        self.data = data
        self.acl = acl
    }

    /// A node restored from a dump with its `stat` and sequence counter, no children yet (they are restored after it,
    /// each through `childrenChanged(by:zxid:)` with no zxid).
    init(
        parent: NodeID, name: String, restoring stat: Stat, sequence: Int32, kind: NodeKind, data: [UInt8]?, acl: ACL
    ) {
        self.parent = parent
        self.name = name
        self.stat = stat
        self.stat.numChildren = 0
        self.stat.dataLength = Int32(data?.count ?? 0)
        self.stat.cversion = Self.cversion(childCreates: sequence, numChildren: 0)
        childCreates = sequence
        self.kind = kind
        self.data = data
        self.acl = acl
    }

    /// Counts `count` children that are already in the tree (a restored root keeps the system nodes).
    mutating func childrenAdopted(_ count: Int32) {
        stat.numChildren = count
        stat.cversion = Self.cversion(childCreates: childCreates, numChildren: count)
    }

    init(decoding raw: UnsafeRawBufferPointer) throws {
        var r = ByteReader(raw)
        parent = try r.read()
        let czxid: Zxid = try r.read()
        let mzxid: Zxid = try r.read()
        let pzxid: Zxid = try r.read()
        let ctime: Int64 = try r.read()
        let mtime: Int64 = try r.read()
        let version: Int32 = try r.read()
        childCreates = try r.read()
        let aversion: Int32 = try r.read()
        let numChildren: Int32 = try r.read()
        let owner: UInt64 = try r.read()
        kind = try NodeKind(from: &r)
        name = try r.readString()
        data = try r.readOptionalBytes()
        acl = r.isAtEnd ? .open : try ACL(from: &r)
        stat = Stat(
            czxid: czxid, mzxid: mzxid, pzxid: pzxid, ctime: ctime, mtime: mtime, version: version,
            cversion: Self.cversion(childCreates: childCreates, numChildren: numChildren), aversion: aversion,
            ephemeralOwner: owner == 0 ? nil : SessionID(rawValue: owner),
            dataLength: Int32(data?.count ?? 0), numChildren: numChildren)
    }

    /// A child added (`delta` 1) or removed (-1) by change `zxid`; `countingDelete`: a removal advances
    /// `childCreates` too (format 1's rule, for replaying its log). zxid nil: one of `ZNodePath.systemNodes` added,
    /// a child but neither a create nor a change (ZooKeeper adds its own nodes so: a fresh root reports cversion −1
    /// and numbers its first sequential child 0).
    mutating func childrenChanged(by delta: Int32, zxid: Zxid?, countingDelete: Bool = false) {
        if zxid != nil && (delta > 0 || countingDelete) { childCreates &+= 1 }
        stat.numChildren += delta
        stat.cversion = Self.cversion(childCreates: childCreates, numChildren: stat.numChildren)
        if let zxid { stat.pzxid = zxid }
    }

    /// Raises the counters to at least `counters` (`Operation.restoreCounters`).
    mutating func raise(to counters: NodeCounters) {
        childCreates = max(childCreates, counters.sequence)
        stat.cversion = Self.cversion(childCreates: childCreates, numChildren: stat.numChildren)
        stat.version = max(stat.version, counters.version)
        stat.aversion = max(stat.aversion, counters.aversion)
    }

    private static func cversion(childCreates: Int32, numChildren: Int32) -> Int32 {
        childCreates &* 2 &- numChildren
    }
}
