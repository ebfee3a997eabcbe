import CairnCore
import LMDB

extension ChangeApplier {
    /// Checks `request` against the current state and applies it, returning the effects to log and the
    /// per-operation results. Throws a `CairnError` (nothing logged) when it cannot be applied, `noAuth` among them
    /// when a node's ACL does not grant `identity` what an operation needs (ZooKeeper's checks, in its order).
    ///
    /// Invariant: every request but a multi throws its `CairnError` before its first write, so it can run
    /// in the batch's transaction as it is; a multi (whose later op may fail after earlier ones wrote) must
    /// run in a nested transaction (`needsNestedTransaction`).
    func execute(
        _ request: Request, session: SessionID?, identity: Identity, zxid: Zxid, time: Int64, _ w: TreeTransaction
    ) throws -> (effects: [Change.Effect], results: [OperationResult]) {
        var effects: [Change.Effect] = []
        var results: [OperationResult] = []
        switch request {
        case .operation(let operation):
            results.append(
                try execute(operation, session: session, identity: identity, zxid: zxid, time: time, into: &effects, w))
        case .multi(let operations):
            for (index, operation) in operations.enumerated() {
                do {
                    results.append(
                        try execute(
                            operation, session: session, identity: identity, zxid: zxid, time: time, into: &effects, w)
                    )
                } catch let error as CairnError {
                    throw CairnError.multiFailed(index: index, cause: error)
                }
            }
        case .createSession(let id, let timeout, let hash):
            guard timeout > 0 else { throw CairnError.badArguments("a session timeout must be positive") }
            effects.append(.createSession(id: id, timeoutMilliseconds: timeout, passwordHash: hash))
            try apply(effects[0], zxid: zxid, time: time, w)
        case .closeSession(let id):
            guard try self.session(id, w.txn) != nil else { throw CairnError.sessionExpired(id) }
            for node in try w.ephemerals(of: id) {
                effects.append(.deleteNode(path: try w.path(of: node)))
            }
            effects.append(.closeSession(id: id))
            for effect in effects { try apply(effect, zxid: zxid, time: time, w) }
        case .reap(let now):
            for path in try reapable(now: now, w) {
                effects.append(.deleteNode(path: path))
                try apply(effects[effects.count - 1], zxid: zxid, time: time, w)
            }
        }
        return (effects, results)
    }

    /// Whether `request` can fail after writing, and so must run in a nested transaction.
    static func needsNestedTransaction(_ request: Request) -> Bool {
        if case .multi = request { return true }
        return false
    }

    private func execute(
        _ operation: Operation, session: SessionID?, identity: Identity, zxid: Zxid, time: Int64,
        into effects: inout [Change.Effect], _ w: TreeTransaction
    ) throws -> OperationResult {
        switch operation {
        case .create(let rawPath, let data, let kind, let sequential, let acl):
            try checkSize(data)
            let (path, owner, parent) = try resolveCreate(
                rawPath, kind: kind, sequential: sequential, session: session, identity: identity, w)
            let stat = try w.create(
                path, under: parent, data: data, kind: kind, owner: owner, acl: acl, zxid: zxid, time: time)
            effects.append(.createNode(path: path, data: data, kind: kind, owner: owner, acl: acl))
            return .created(path: path, stat: stat)
        case .delete(let path, let version):
            if path.isRoot { throw CairnError.badArguments("the root node cannot be deleted") }
            if path.isSystemNode { throw CairnError.badArguments("\(path) is ZooKeeper's and cannot be deleted") }
            // ZooKeeper's order: the parent (no_node), DELETE on it, then the node, its version, its children.
            guard let parentPath = path.parent, let parent = try w.lookupParent(parentPath) else {
                throw CairnError.noNode(path.parent ?? .root)
            }
            try identity.check(.delete, in: parent.record.acl, at: parentPath)
            let (id, node) = try checkVersion(path, version, w)
            try w.delete(id, node, at: path, zxid: zxid)
            effects.append(.deleteNode(path: path))
            return .deleted
        case .setData(let path, let data, let version):
            try checkSize(data)
            let (id, node) = try checkedNode(path, needing: .write, by: identity, version: version, w)
            let stat = try w.setData(id, node, data: data, zxid: zxid, time: time)
            effects.append(.setData(path: path, data: data))
            return .set(stat: stat)
        case .check(let path, let version):
            _ = try checkedNode(path, needing: .read, by: identity, version: version, w)
            effects.append(.check(path: path, version: version))
            return .checked
        case .setACL(let path, let acl, let version):
            let (id, node) = try checkedNode(
                path, needing: .admin, by: identity, version: version, of: \.aversion, w)
            let stat = try w.setACL(id, node, acl: acl)
            effects.append(.setACL(path: path, acl: acl))
            return .aclSet(stat: stat)
        case .restoreCounters(let path, let counters):
            // An operator restores as it dumps, whatever the node's ACL.
            let (id, node) = try checkedNode(
                path, needing: identity.isOperator ? [] : .admin, by: identity, version: -1, w)
            let stat = try w.restoreCounters(id, node, counters)
            effects.append(.restoreCounters(path: path, counters: counters))
            return .countersRestored(stat: stat)
        }
    }

    private func checkSize(_ data: [UInt8]?) throws {
        if let data, data.count > maxDataSize {
            throw CairnError.tooLarge("data of \(data.count) bytes is over the limit of \(maxDataSize) bytes")
        }
    }

    /// A create's final path (with its sequence suffix), owner and parent, looked up once; throws what
    /// the create must fail with before anything is written.
    private func resolveCreate(
        _ rawPath: String, kind: NodeKind, sequential: Bool, session: SessionID?, identity: Identity,
        _ w: TreeTransaction
    ) throws -> (path: ZNodePath, owner: SessionID?, parent: (id: NodeID, record: NodeRecord)) {
        switch kind {
        case .persistentWithTTL(let ttl) where !(1...NodeKind.maxTTLMilliseconds).contains(ttl):
            throw CairnError.badArguments("ttl_ms must be in 1...\(NodeKind.maxTTLMilliseconds) (got \(ttl))")
        case .container where sequential:
            throw CairnError.badArguments("a container node cannot be sequential")
        default: break
        }
        var owner: SessionID?
        if kind == .ephemeral {
            guard let session else { throw CairnError.badArguments("an ephemeral node needs a session") }
            guard try self.session(session, w.txn) != nil else { throw CairnError.sessionExpired(session) }
            owner = session
        }
        if sequential {
            guard let slash = rawPath.utf8.lastIndex(of: UInt8(ascii: "/")) else {
                throw CairnError.invalidPath(rawPath, reason: "a path must start with '/'")
            }
            let parentPath = try ZNodePath(slash == rawPath.startIndex ? "/" : String(rawPath[..<slash]))
            guard let parent = try w.lookupParent(parentPath) else { throw CairnError.noNode(parentPath) }
            try identity.check(.create, in: parent.record.acl, at: parentPath)
            return (try ZNodePath(rawPath + Self.sequenceSuffix(parent.record.childCreates)), owner, parent)
        }
        let path = try ZNodePath(rawPath)
        guard !path.isRoot else { throw CairnError.nodeExists(path) }
        guard let parent = try w.lookupParent(of: path) else { throw CairnError.noNode(path.parent ?? .root) }
        // Before the name is tried: creating an existing node without CREATE on its parent is no_auth.
        try identity.check(.create, in: parent.record.acl, at: path.parent ?? .root)
        return (path, owner, parent)
    }

    /// ZooKeeper's `%010d` of the parent's count of child creates.
    static func sequenceSuffix(_ counter: Int32) -> String {
        let digits = String(counter.magnitude)
        let width = counter < 0 ? 9 : 10
        return (counter < 0 ? "-" : "") + String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// Containers that had children and have none, and TTL nodes past their TTL with no children.
    private func reapable(now: Int64, _ w: TreeTransaction) throws -> [ZNodePath] {
        var due: [NodeID] = []
        for id in try nodeIDs(in: db.containers, w.txn) {
            if let node = try w.record(id), node.stat.numChildren == 0, node.childCreates > 0 { due.append(id) }
        }
        for id in try nodeIDs(in: db.ttls, w.txn) {
            if let node = try w.record(id), node.stat.numChildren == 0,
                case .persistentWithTTL(let ttl) = node.kind, node.stat.mtime.saturatingAdding(ttl) <= now
            {
                due.append(id)
            }
        }
        return try due.map { try w.path(of: $0) }
    }

    private func nodeIDs(in index: Database, _ txn: Transaction) throws -> [NodeID] {
        var ids: [NodeID] = []
        try txn.scan(index) { key, _ in
            ids.append(NodeID(key: key))
            return true
        }
        return ids
    }
}
