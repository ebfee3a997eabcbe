import CairnCore
import LMDB

/// The tree inside one write transaction: the primitive mutations `Change.Effect`s are made of, with the
/// writes a batch repeats held in memory until `flush`. A batch of creates under one parent reads and
/// rewrites that parent's record once, not once per create; parents are found by path without walking the
/// tree again; node ids are counted in memory.
///
/// Invariants: inside a write transaction every node record is read and written through this (a record
/// read around it may be older than the one pending here); `flush` runs before the transaction commits; a
/// nested transaction works on a copy of what is pending, adopted only when it commits (`nested`).
final class TreeTransaction {
    let tree: ZNodeTree
    let txn: Transaction
    /// A delete advances its parent's sequence counter: set only to replay changes written under format 1
    /// (`DataFormat`).
    var deletesAdvanceSequence = false
    private var pending: Pending
    var db: StoreDatabases { tree.db }

    private struct Pending {
        /// Records of nodes looked up as parents, newer than the store's when `dirty`.
        var records: [NodeID: PendingRecord] = [:]
        /// The ids of the nodes in `records`, by path.
        var parents: [ZNodePath: NodeID] = [:]
        /// The next node id, once read from the store; `stored` is the value the store holds.
        var nextNodeID: (next: NodeID, stored: NodeID)?
        /// The parent the last `lookupParent(of:)` found: a run of creates under one parent finds it without
        /// making its path.
        var lastParent: (path: ZNodePath, id: NodeID)?
        /// The ACLs of the watch notifications of the mutations since `takeNotificationACLs`.
        var notificationACLs = NotificationACLs()
    }

    /// The ACL of each watch notification, in order (see `Change.notificationACLs`), kept only once one is not the
    /// open ACL: a change on open nodes allocates nothing for it.
    struct NotificationACLs {
        private var count = 0
        private var restricted: [ACL]?

        mutating func note(_ acl: ACL) {
            if restricted != nil {
                restricted!.append(acl)
            } else if !acl.isOpen {
                restricted = Array(repeating: .open, count: count) + [acl]
            }
            count += 1
        }

        var acls: [ACL]? { restricted }
    }

    private struct PendingRecord {
        var record: NodeRecord
        var dirty: Bool

        mutating func childrenChanged(by delta: Int32, zxid: Zxid?, countingDelete: Bool) {
            record.childrenChanged(by: delta, zxid: zxid, countingDelete: countingDelete)
            dirty = true
        }
    }

    init(_ tree: ZNodeTree, _ txn: Transaction) {
        self.tree = tree
        self.txn = txn
        self.pending = Pending()
    }

    private init(_ tree: ZNodeTree, _ txn: Transaction, deletesAdvanceSequence: Bool, pending: Pending) {
        self.tree = tree
        self.txn = txn
        self.deletesAdvanceSequence = deletesAdvanceSequence
        self.pending = pending
    }

    /// Runs `body` in a nested transaction (see `Transaction.nested`): what it writes, to LMDB or pending
    /// here, joins this transaction when it returns and vanishes when it throws.
    func nested<T>(_ body: (TreeTransaction) throws -> T) throws -> T {
        var adopted: Pending?
        let result = try txn.nested { child in
            let inner = TreeTransaction(tree, child, deletesAdvanceSequence: deletesAdvanceSequence, pending: pending)
            let result = try body(inner)
            adopted = inner.pending
            return result
        }
        if let adopted { pending = adopted }
        return result
    }

    /// Stores what is pending. Call before the transaction commits.
    func flush() throws {
        for (id, entry) in pending.records where entry.dirty {
            try entry.record.put(id, in: db.nodes, txn)
            pending.records[id]?.dirty = false
        }
        if let counter = pending.nextNodeID, counter.next != counter.stored {
            try txn.put(db.meta, key: MetaKey.nextNodeID, value: withUnsafeBytes(of: counter.next) { Array($0) })
            pending.nextNodeID = (counter.next, counter.next)
        }
    }

    /// The notification ACLs of what was mutated since the last call (see `Change.notificationACLs`).
    func takeNotificationACLs() -> [ACL]? {
        defer { pending.notificationACLs = NotificationACLs() }
        return pending.notificationACLs.acls
    }

    // MARK: Reading

    func record(_ id: NodeID) throws -> NodeRecord? {
        if let entry = pending.records[id] { return entry.record }
        return try tree.record(id, txn)
    }

    func lookup(_ path: ZNodePath) throws -> (id: NodeID, record: NodeRecord)? {
        guard let id = try id(of: path), let record = try record(id) else { return nil }
        return (id, record)
    }

    /// `lookup` for a node about to gain or lose a child: its record stays pending until `flush`.
    func lookupParent(_ path: ZNodePath) throws -> (id: NodeID, record: NodeRecord)? {
        if let id = pending.parents[path], let entry = pending.records[id] { return (id, entry.record) }
        guard let found = try lookup(path) else { return nil }
        pending.parents[path] = found.id
        if pending.records[found.id] == nil {
            pending.records[found.id] = PendingRecord(record: found.record, dirty: false)
        }
        return found
    }

    /// `lookupParent` of the node at `path`, which must not be the root.
    func lookupParent(of path: ZNodePath) throws -> (id: NodeID, record: NodeRecord)? {
        if let last = pending.lastParent, last.path.isParent(of: path), let entry = pending.records[last.id] {
            return (last.id, entry.record)
        }
        guard let parentPath = path.parent, let found = try lookupParent(parentPath) else { return nil }
        pending.lastParent = (parentPath, found.id)
        return found
    }

    /// The node's id: from the pending parents when it is one, or one step below the last one found or any
    /// other, or else by walking the tree.
    private func id(of path: ZNodePath) throws -> NodeID? {
        if let id = pending.parents[path] { return id }
        if let last = pending.lastParent, last.path.isParent(of: path), pending.records[last.id] != nil {
            return try tree.child(of: last.id, named: path.name, txn)
        }
        if let parent = path.parent, let parentID = pending.parents[parent] {
            return try tree.child(of: parentID, named: path.name, txn)
        }
        return try tree.id(of: path, txn)
    }

    /// The ids of a session's ephemerals, oldest first.
    func ephemerals(of owner: SessionID) throws -> [NodeID] { try tree.ephemeralIDs(of: owner, txn) }

    /// The path of a node, rebuilt from its ancestors' names (pending records included).
    func path(of id: NodeID) throws -> ZNodePath { try tree.path(of: id) { try record($0) } }

    // MARK: Mutating

    func put(_ id: NodeID, _ record: NodeRecord) throws {
        if pending.records[id] != nil {
            pending.records[id] = PendingRecord(record: record, dirty: true)
        } else {
            try record.put(id, in: db.nodes, txn)
        }
    }

    /// The parent's counters after a child came or went: changed in place when its record is pending (no copy
    /// of it, one lookup), else stored changed.
    private func childrenChanged(under parentID: NodeID, _ parent: NodeRecord, by delta: Int32, zxid: Zxid?) throws {
        // Through the values view: `records[id]?.…` moves the record out into an optional and back, copying it.
        if let index = pending.records.index(forKey: parentID) {
            pending.records.values[index].childrenChanged(by: delta, zxid: zxid, countingDelete: deletesAdvanceSequence)
            return
        }
        var entry = PendingRecord(record: parent, dirty: false)
        entry.childrenChanged(by: delta, zxid: zxid, countingDelete: deletesAdvanceSequence)
        try entry.record.put(parentID, in: db.nodes, txn)
    }

    /// Creates the node at `path`; its parent must exist and not be ephemeral, and the node must not.
    @discardableResult
    func create(
        _ path: ZNodePath, data: [UInt8]?, kind: NodeKind, owner: SessionID?, acl: ACL, zxid: Zxid, time: Int64
    ) throws -> Stat {
        guard !path.isRoot else { throw CairnError.nodeExists(path) }
        guard let parent = try lookupParent(of: path) else { throw CairnError.noNode(path.parent ?? .root) }
        return try create(
            path, under: parent, data: data, kind: kind, owner: owner, acl: acl, zxid: zxid, time: time)
    }

    /// `create` with the parent already looked up (by `lookupParent`: a create looks it up once, for its
    /// checks and its write). `system`: one of `ZNodePath.systemNodes`, made by no change (`SystemNodes`).
    func create(
        _ path: ZNodePath, under found: (id: NodeID, record: NodeRecord), data: [UInt8]?, kind: NodeKind,
        owner: SessionID?, acl: ACL, zxid: Zxid, time: Int64, system: Bool = false
    ) throws -> Stat {
        let stat = Stat.created(zxid: zxid, time: time, owner: owner, dataLength: data?.count ?? 0)
        let record = NodeRecord(
            parent: found.id, name: String(path.name), stat: stat, kind: kind, data: data, acl: acl)
        try insert(record, at: path, under: found, asCreateBy: system ? nil : zxid)
        return stat
    }

    /// Puts a node restored from a dump (`Store.importTree`): its stat and sequence counter as they were. Its
    /// parent gains a child but neither a create nor a pzxid (those are the parent's own, restored with it).
    func restore(_ node: ZNode, sequence: Int32) throws {
        guard let parent = try lookupParent(of: node.path) else { throw CairnError.noNode(node.path.parent ?? .root) }
        let record = NodeRecord(
            parent: parent.id, name: String(node.path.name), restoring: node.stat, sequence: sequence,
            kind: node.kind, data: node.data, acl: node.acl)
        try insert(record, at: node.path, under: parent, asCreateBy: nil)
    }

    /// Gives the root a restored dump root's data, ACL, stat and sequence counter; its children stay its own.
    func restoreRoot(_ node: ZNode, sequence: Int32) throws {
        guard var root = try record(.root) else { throw CairnError.internal("the store has no root") }
        let children = root.stat.numChildren
        root = NodeRecord(
            parent: 0, name: "", restoring: node.stat, sequence: sequence, kind: .persistent, data: node.data,
            acl: node.acl)
        root.childrenAdopted(children)
        try put(.root, root)
    }

    /// Inserts `record` as the node at `path` below the parent `found`; `zxid` nil: the parent's sequence counter
    /// and pzxid stay (see `NodeRecord.childrenChanged`).
    private func insert(
        _ record: NodeRecord, at path: ZNodePath, under found: (id: NodeID, record: NodeRecord), asCreateBy zxid: Zxid?
    ) throws {
        let parentID = found.id
        let parent = found.record
        if parent.kind == .ephemeral { throw CairnError.noChildrenForEphemerals(path.parent ?? .root) }
        let name = path.name
        // Every check comes before the first write, and the child key's insertion is the last check: a
        // failed create leaves nothing behind.
        let id = try peekNextNodeID()
        let inserted = try ChildKey.with(parent: parentID, name: name) { key in
            try ChildKey.withValue(child: id, name: name) { value in
                try txn.put(db.children, key: key, value: value, flags: .noOverwrite)
            }
        }
        guard inserted else {
            if try tree.child(of: parentID, named: name, txn) != nil { throw CairnError.nodeExists(path) }
            throw CairnError.internal("child key of \(path) collides with another name's")
        }
        pending.nextNodeID?.next = id + 1
        try record.put(id, in: db.nodes, new: true, txn)
        switch record.kind {
        case .ephemeral:
            if let owner = record.stat.ephemeralOwner {
                try txn.put(db.ephemerals, key: ephemeralKey(owner, id), value: [])
            }
        case .container: try txn.put(db.containers, key: id.key, value: [])
        case .persistentWithTTL: try txn.put(db.ttls, key: id.key, value: [])
        case .persistent: break
        }
        try childrenChanged(under: parentID, parent, by: 1, zxid: zxid)
        pending.notificationACLs.note(record.acl)
        pending.notificationACLs.note(parent.acl)
    }

    /// Deletes the node at `path`, which must exist and have no children.
    func delete(_ path: ZNodePath, zxid: Zxid) throws {
        guard let (id, node) = try lookup(path) else { throw CairnError.noNode(path) }
        try delete(id, node, at: path, zxid: zxid)
    }

    /// Deletes a node already looked up (`delete(_:zxid:)` without a second lookup).
    func delete(_ id: NodeID, _ node: NodeRecord, at path: ZNodePath, zxid: Zxid) throws {
        guard !path.isRoot else { throw CairnError.noNode(path) }
        if node.stat.numChildren > 0 { throw CairnError.notEmpty(path) }
        guard let parent = try record(node.parent) else {
            throw CairnError.internal("the parent of \(path) has no record")
        }
        pending.records[id] = nil
        pending.parents[path] = nil
        try id.withKey { try txn.delete(db.nodes, key: $0) }
        try ChildKey.with(parent: node.parent, name: node.name) { try txn.delete(db.children, key: $0) }
        switch node.kind {
        case .ephemeral:
            if let owner = node.stat.ephemeralOwner { try txn.delete(db.ephemerals, key: ephemeralKey(owner, id)) }
        case .container: try txn.delete(db.containers, key: id.key)
        case .persistentWithTTL: try txn.delete(db.ttls, key: id.key)
        case .persistent: break
        }
        try childrenChanged(under: node.parent, parent, by: -1, zxid: zxid)
        pending.notificationACLs.note(node.acl)
        pending.notificationACLs.note(parent.acl)
    }

    /// Replaces the data of the node at `path`, bumping its version.
    @discardableResult
    func setData(_ path: ZNodePath, data: [UInt8]?, zxid: Zxid, time: Int64) throws -> Stat {
        guard let (id, found) = try lookup(path) else { throw CairnError.noNode(path) }
        return try setData(id, found, data: data, zxid: zxid, time: time)
    }

    /// Sets the data of a node already looked up.
    func setData(_ id: NodeID, _ found: NodeRecord, data: [UInt8]?, zxid: Zxid, time: Int64) throws -> Stat {
        var node = found
        node.data = data
        node.stat.version &+= 1
        node.stat.mzxid = zxid
        node.stat.mtime = time
        node.stat.dataLength = Int32(data?.count ?? 0)
        try put(id, node)
        pending.notificationACLs.note(node.acl)
        return node.stat
    }

    /// Replaces the ACL of a node already looked up, bumping its aversion.
    func setACL(_ id: NodeID, _ found: NodeRecord, acl: ACL) throws -> Stat {
        var node = found
        node.acl = acl
        node.stat.aversion &+= 1
        try put(id, node)
        return node.stat
    }

    /// Raises the counters of a node already looked up (`NodeRecord.raise(to:)`).
    func restoreCounters(_ id: NodeID, _ found: NodeRecord, _ counters: NodeCounters) throws -> Stat {
        var node = found
        node.raise(to: counters)
        try put(id, node)
        return node.stat
    }

    private func ephemeralKey(_ owner: SessionID, _ id: NodeID) -> [UInt8] { NodeID(owner.rawValue).key + id.key }

    /// The id the next created node gets; `create` moves past it once the node is in.
    private func peekNextNodeID() throws -> NodeID {
        if let counter = pending.nextNodeID { return counter.next }
        let stored =
            try txn.withValue(db.meta, key: MetaKey.nextNodeID) { $0.loadUnaligned(as: UInt64.self) } ?? NodeID.root + 1
        pending.nextNodeID = (stored, stored)
        return stored
    }
}
