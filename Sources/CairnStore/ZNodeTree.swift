import CairnCore
import LMDB

/// The znode tree in LMDB as any transaction reads it: lookups by path and children in name order. Inside
/// a write transaction, reads and mutations go through `TreeTransaction`, which holds writes not yet stored.
struct ZNodeTree: Sendable {
    let db: StoreDatabases

    func record(_ id: NodeID, _ txn: Transaction) throws -> NodeRecord? {
        try id.withKey { key in try txn.withValue(db.nodes, key: key) { try NodeRecord(decoding: $0) } }
    }

    func child(of parent: NodeID, named name: some StringProtocol, _ txn: Transaction) throws -> NodeID? {
        try ChildKey.with(parent: parent, name: name) { key in
            try txn.withValue(db.children, key: key) { value -> NodeID? in
                // A hashed key's value carries the full name: a different name behind the same key is not this child.
                if value.count > 8, !value[8...].elementsEqual(name.utf8) { return nil }
                return NodeID(key: value)
            } ?? nil
        }
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

    /// The ids of a session's ephemerals, oldest first.
    func ephemeralIDs(of owner: SessionID, _ txn: Transaction) throws -> [NodeID] {
        var ids: [NodeID] = []
        let prefix = NodeID(owner.rawValue).key
        try txn.scan(db.ephemerals, from: prefix) { key, _ in
            guard key.prefix(8).elementsEqual(prefix) else { return false }
            ids.append(NodeID(key: UnsafeRawBufferPointer(rebasing: key[8...])))
            return true
        }
        return ids
    }

    /// The path of a node, rebuilt from its ancestors' names as `record` reads them.
    func path(of id: NodeID, _ record: (NodeID) throws -> NodeRecord?) throws -> ZNodePath {
        var names: [String] = []
        var current = id
        while current != .root {
            guard let node = try record(current) else { throw CairnError.internal("node \(current) has no record") }
            names.append(node.name)
            current = node.parent
        }
        return try ZNodePath("/" + names.reversed().joined(separator: "/"))
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
}

/// Keys of the `meta` database.
enum MetaKey {
    static let appliedZxid = Array("applied_zxid".utf8)
    static let nextNodeID = Array("next_node_id".utf8)
    static let format = Array("format".utf8)
}
