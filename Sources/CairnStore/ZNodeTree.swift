import CairnCore
import LMDB

/// The znode tree in LMDB: lookups by path, children in name order, and the primitive mutations that
/// `Change.Effect`s are made of. Every function runs inside a transaction its caller holds.
struct ZNodeTree: Sendable {
    let db: StoreDatabases

    // MARK: Reading

    func record(_ id: NodeID, _ txn: Transaction) throws -> NodeRecord? {
        try txn.withValue(db.nodes, key: id.key) { try NodeRecord(decoding: $0) }
    }

    func child(of parent: NodeID, named name: some StringProtocol, _ txn: Transaction) throws -> NodeID? {
        let key = ChildKey.make(parent: parent, name: name)
        return try txn.withValue(db.children, key: key) { value -> NodeID? in
            // A hashed key's value carries the full name: a different name behind the same key is not this child.
            if value.count > 8, !value[8...].elementsEqual(name.utf8) { return nil }
            return NodeID(key: value)
        } ?? nil
    }

    /// The id of the node at `path`, walking from the root one segment at a time.
    func id(of path: ZNodePath, _ txn: Transaction) throws -> NodeID? {
        var id: NodeID? = .root
        try path.forEachSegment { segment in
            id = try child(of: id!, named: segment, txn)
            return id != nil
        }
        return id
    }

    func lookup(_ path: ZNodePath, _ txn: Transaction) throws -> (id: NodeID, record: NodeRecord)? {
        guard let id = try id(of: path, txn), let record = try record(id, txn) else { return nil }
        return (id, record)
    }

    /// The names of a node's children in byte order of their UTF-8 names.
    func childNames(of parent: NodeID, _ txn: Transaction) throws -> [String] {
        try children(of: parent, txn).map(\.name)
    }

    /// A node's children (name and id) in byte order of their UTF-8 names.
    func children(of parent: NodeID, _ txn: Transaction) throws -> [(name: String, id: NodeID)] {
        var entries: [(name: String, id: NodeID)] = []
        var hashedRun: [(name: String, id: NodeID)] = []
        var hashedPrefix: [UInt8] = []
        func flushRun() {
            entries.append(contentsOf: hashedRun.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) })
            hashedRun = []
        }
        let prefix = parent.key
        try txn.scan(db.children, from: prefix) { key, value in
            guard key.count >= 8, key.prefix(8).elementsEqual(prefix) else { return false }
            let entry = (name: ChildKey.name(key: key, value: value), id: NodeID(key: value))
            if ChildKey.isHashed(key) {
                let keyPrefix = Array(key[8..<(8 + ChildKey.inlineLimit)])
                if keyPrefix != hashedPrefix {
                    flushRun()
                    hashedPrefix = keyPrefix
                }
                hashedRun.append(entry)
            } else {
                flushRun()
                hashedPrefix = []
                entries.append(entry)
            }
            return true
        }
        flushRun()
        return entries
    }

    // MARK: Mutating

    func put(_ id: NodeID, _ record: NodeRecord, _ txn: Transaction) throws {
        try txn.put(db.nodes, key: id.key, value: record.encoded())
    }

    /// Creates the node at `path`; its parent must exist and not be ephemeral, and the node must not.
    @discardableResult
    func create(
        _ path: ZNodePath, data: [UInt8], kind: NodeKind, owner: SessionID?, zxid: Zxid, time: Int64,
        _ txn: Transaction
    ) throws -> Stat {
        guard let parentPath = path.parent else { throw CairnError.nodeExists(path) }
        guard let parent = try lookup(parentPath, txn) else { throw CairnError.noNode(parentPath) }
        return try create(path, under: parent, data: data, kind: kind, owner: owner, zxid: zxid, time: time, txn)
    }

    /// `create` with the parent already looked up (a create looks it up once, for its checks and its write).
    func create(
        _ path: ZNodePath, under found: (id: NodeID, record: NodeRecord), data: [UInt8], kind: NodeKind, owner: SessionID?,
        zxid: Zxid, time: Int64, _ txn: Transaction
    ) throws -> Stat {
        let parentID = found.id
        var parent = found.record
        if parent.kind == .ephemeral { throw CairnError.noChildrenForEphemerals(path.parent ?? .root) }
        let name = path.name
        // Every check comes before the first write: a failed create leaves nothing behind.
        if try child(of: parentID, named: name, txn) != nil { throw CairnError.nodeExists(path) }
        let id = try nextNodeID(txn)
        let inserted = try txn.put(
            db.children, key: ChildKey.make(parent: parentID, name: name), value: ChildKey.value(child: id, name: name),
            flags: .noOverwrite)
        guard inserted else { throw CairnError.internal("child key of \(path) collides with another name's") }
        let stat = Stat.created(zxid: zxid, time: time, owner: owner, dataLength: data.count)
        try put(id, NodeRecord(parent: parentID, name: String(name), stat: stat, kind: kind, data: data), txn)
        switch kind {
        case .ephemeral: if let owner { try txn.put(db.ephemerals, key: ephemeralKey(owner, id), value: []) }
        case .container: try txn.put(db.containers, key: id.key, value: [])
        case .persistentWithTTL: try txn.put(db.ttls, key: id.key, value: [])
        case .persistent: break
        }
        parent.stat.cversion &+= 1
        parent.stat.numChildren += 1
        parent.stat.pzxid = zxid
        try put(parentID, parent, txn)
        return stat
    }

    /// Deletes the node at `path`, which must exist and have no children.
    func delete(_ path: ZNodePath, zxid: Zxid, _ txn: Transaction) throws {
        guard let (id, node) = try lookup(path, txn) else { throw CairnError.noNode(path) }
        try delete(id, node, at: path, zxid: zxid, txn)
    }

    /// Deletes a node already looked up (`delete(_:zxid:_:)` without a second lookup).
    func delete(_ id: NodeID, _ node: NodeRecord, at path: ZNodePath, zxid: Zxid, _ txn: Transaction) throws {
        guard let parentPath = path.parent else { throw CairnError.noNode(path) }
        if node.stat.numChildren > 0 { throw CairnError.notEmpty(path) }
        guard var parent = try record(node.parent, txn) else { throw CairnError.internal("\(parentPath) has no record") }
        try txn.delete(db.nodes, key: id.key)
        try txn.delete(db.children, key: ChildKey.make(parent: node.parent, name: node.name))
        switch node.kind {
        case .ephemeral: if let owner = node.stat.ephemeralOwner { try txn.delete(db.ephemerals, key: ephemeralKey(owner, id)) }
        case .container: try txn.delete(db.containers, key: id.key)
        case .persistentWithTTL: try txn.delete(db.ttls, key: id.key)
        case .persistent: break
        }
        parent.stat.cversion &+= 1
        parent.stat.numChildren -= 1
        parent.stat.pzxid = zxid
        try put(node.parent, parent, txn)
    }

    /// Replaces the data of the node at `path`, bumping its version.
    @discardableResult
    func setData(_ path: ZNodePath, data: [UInt8], zxid: Zxid, time: Int64, _ txn: Transaction) throws -> Stat {
        guard let (id, found) = try lookup(path, txn) else { throw CairnError.noNode(path) }
        return try setData(id, found, data: data, zxid: zxid, time: time, txn)
    }

    /// Sets the data of a node already looked up.
    func setData(_ id: NodeID, _ found: NodeRecord, data: [UInt8], zxid: Zxid, time: Int64, _ txn: Transaction) throws -> Stat {
        var node = found
        node.data = data
        node.stat.version &+= 1
        node.stat.mzxid = zxid
        node.stat.mtime = time
        node.stat.dataLength = Int32(data.count)
        try put(id, node, txn)
        return node.stat
    }

    /// The ids of a session's ephemerals, oldest first.
    func ephemerals(of owner: SessionID, _ txn: Transaction) throws -> [NodeID] {
        var ids: [NodeID] = []
        let prefix = NodeID(owner.rawValue).key
        try txn.scan(db.ephemerals, from: prefix) { key, _ in
            guard key.prefix(8).elementsEqual(prefix) else { return false }
            ids.append(NodeID(key: UnsafeRawBufferPointer(rebasing: key[8...])))
            return true
        }
        return ids
    }

    /// The path of a node, rebuilt from its ancestors' names.
    func path(of id: NodeID, _ txn: Transaction) throws -> ZNodePath {
        var names: [String] = []
        var current = id
        while current != .root {
            guard let node = try record(current, txn) else { throw CairnError.internal("node \(current) has no record") }
            names.append(node.name)
            current = node.parent
        }
        return try ZNodePath("/" + names.reversed().joined(separator: "/"))
    }

    private func ephemeralKey(_ owner: SessionID, _ id: NodeID) -> [UInt8] { NodeID(owner.rawValue).key + id.key }

    private func nextNodeID(_ txn: Transaction) throws -> NodeID {
        let key = MetaKey.nextNodeID
        let next = try txn.withValue(db.meta, key: key) { $0.loadUnaligned(as: UInt64.self) } ?? NodeID.root + 1
        try txn.put(db.meta, key: key, value: withUnsafeBytes(of: next + 1) { Array($0) })
        return next
    }
}

/// Keys of the `meta` database.
enum MetaKey {
    static let appliedZxid = Array("applied_zxid".utf8)
    static let nextNodeID = Array("next_node_id".utf8)
    static let format = Array("format".utf8)
}
