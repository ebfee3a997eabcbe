import CairnCore
import LMDB

/// A consistent, read-only view of the store at one zxid, lent to `Store.read`'s closure.
///
/// Non-copyable so it cannot escape that closure; reads in it never wait for the writer.
public struct StoreView: ~Copyable {
    let txn: Transaction
    let applier: ChangeApplier
    var tree: ZNodeTree { applier.tree }

    /// The zxid of the last change this view reflects.
    public var zxid: Zxid { get throws { try applier.appliedZxid(txn) } }

    /// The node at `path`, or nil.
    public func node(at path: ZNodePath) throws -> ZNode? {
        guard let (_, record) = try tree.lookup(path, txn) else { return nil }
        return ZNode(path: path, data: record.data, stat: record.stat, kind: record.kind, acl: record.acl)
    }

    public func stat(at path: ZNodePath) throws -> Stat? { try tree.lookup(path, txn)?.record.stat }

    /// The node's stat and ACL, or nil.
    public func access(at path: ZNodePath) throws -> (stat: Stat, acl: ACL)? {
        try tree.lookup(path, txn).map { ($0.record.stat, $0.record.acl) }
    }

    /// The ACL of the node at `path`, or when it is gone of its nearest existing ancestor: what decides who may
    /// hear of a past change there when the ACL it had then is no longer known.
    public func nearestACL(at path: ZNodePath) throws -> ACL {
        var candidate: ZNodePath? = path
        while let current = candidate {
            if let (_, record) = try tree.lookup(current, txn) { return record.acl }
            candidate = current.parent
        }
        return .open
    }

    /// The names of the children of `path` in name order, its stat and ACL; nil when `path` does not exist.
    public func children(of path: ZNodePath) throws -> (names: [String], stat: Stat, acl: ACL)? {
        guard let (id, record) = try tree.lookup(path, txn) else { return nil }
        return (try tree.childNames(of: id, txn), record.stat, record.acl)
    }

    /// Visits `path` and every node below it, parents before children, children in name order.
    public func visit(from path: ZNodePath = .root, _ body: (ZNode) throws -> Void) throws {
        guard let (id, record) = try tree.lookup(path, txn) else { throw CairnError.noNode(path) }
        try visit(id: id, record: record, path: path, body)
    }

    private func visit(id: NodeID, record: NodeRecord, path: ZNodePath, _ body: (ZNode) throws -> Void) throws {
        try body(ZNode(path: path, data: record.data, stat: record.stat, kind: record.kind, acl: record.acl))
        for (name, childID) in try tree.children(of: id, txn) {
            guard let child = try tree.record(childID, txn) else { continue }
            try visit(id: childID, record: child, path: path.appending(name), body)
        }
    }

    /// How many nodes are below `path` (its descendants, not itself); nil when it does not exist.
    public func descendantCount(of path: ZNodePath) throws -> Int? {
        guard let (id, _) = try tree.lookup(path, txn) else { return nil }
        var count = 0
        var pending = [id]
        while let next = pending.popLast() {
            let children = try tree.children(of: next, txn)
            count += children.count
            pending.append(contentsOf: children.map(\.id))
        }
        return count
    }

    /// The paths of the session's ephemeral nodes, oldest first.
    public func ephemerals(of session: SessionID) throws -> [ZNodePath] {
        try tree.ephemeralIDs(of: session, txn).map { try tree.path(of: $0) { try tree.record($0, txn) } }
    }

    /// Number of znodes, the root included.
    public var nodeCount: Int { get throws { try txn.count(tree.db.nodes) } }

    /// Number of ephemeral nodes.
    public var ephemeralCount: Int { get throws { try txn.count(tree.db.ephemerals) } }

    public func sessions() throws -> [SessionRecord] { try applier.sessions(txn) }

    public func session(_ id: SessionID) throws -> SessionRecord? { try applier.session(id, txn) }
}
