import CairnCore
import LMDB

/// Turns requests into changes and applies changes to the tree and session table, inside a write
/// transaction its caller holds (as a `TreeTransaction`, flushed before it commits). Recovery replays
/// changes through `apply`; the writer runs `execute`.
struct ChangeApplier: Sendable {
    let tree: ZNodeTree
    let maxDataSize: Int
    var db: StoreDatabases { tree.db }

    /// Applies one change's effects and records its zxid as applied, in the caller's transaction.
    func apply(_ change: Change, _ w: TreeTransaction) throws {
        for effect in change.effects { _ = try apply(effect, zxid: change.zxid, time: change.time, w) }
        try setAppliedZxid(change.zxid, w.txn)
    }

    @discardableResult
    func apply(_ effect: Change.Effect, zxid: Zxid, time: Int64, _ w: TreeTransaction) throws -> OperationResult? {
        let txn = w.txn
        switch effect {
        case .createNode(let path, let data, let kind, let owner, let acl):
            let stat = try w.create(path, data: data, kind: kind, owner: owner, acl: acl, zxid: zxid, time: time)
            return .created(path: path, stat: stat)
        case .setACL(let path, let acl):
            guard let (id, node) = try w.lookup(path) else { throw CairnError.noNode(path) }
            return .aclSet(stat: try w.setACL(id, node, acl: acl))
        case .restoreCounters(let path, let counters):
            guard let (id, node) = try w.lookup(path) else { throw CairnError.noNode(path) }
            return .countersRestored(stat: try w.restoreCounters(id, node, counters))
        case .deleteNode(let path):
            try w.delete(path, zxid: zxid)
            return .deleted
        case .setData(let path, let data):
            return .set(stat: try w.setData(path, data: data, zxid: zxid, time: time))
        case .check(let path, let version):
            try checkVersion(path, version, w)
            return .checked
        case .createSession(let id, let timeout, let hash):
            let record = SessionRecord(
                id: id, timeoutMilliseconds: timeout, passwordHash: hash, deadline: time.saturatingAdding(timeout),
                graceGranted: false)
            guard try txn.put(db.sessions, key: SessionRecord.key(id), value: record.encoded(), flags: .noOverwrite)
            else {
                throw CairnError.badArguments("session \(id) already exists")
            }
            return nil
        case .closeSession(let id):
            try txn.delete(db.sessions, key: SessionRecord.key(id))
            return nil
        }
    }

    func appliedZxid(_ txn: Transaction) throws -> Zxid {
        try txn.withValue(db.meta, key: MetaKey.appliedZxid) { $0.loadUnaligned(as: UInt64.self) } ?? 0
    }

    func setAppliedZxid(_ zxid: Zxid, _ txn: Transaction) throws {
        try txn.put(db.meta, key: MetaKey.appliedZxid, value: withUnsafeBytes(of: zxid) { Array($0) })
    }

    func session(_ id: SessionID, _ txn: Transaction) throws -> SessionRecord? {
        try txn.withValue(db.sessions, key: SessionRecord.key(id)) { try SessionRecord(id: id, decoding: $0) }
    }

    func sessions(_ txn: Transaction) throws -> [SessionRecord] {
        var records: [SessionRecord] = []
        try txn.scan(db.sessions) { key, value in
            records.append(try SessionRecord(id: SessionID(rawValue: NodeID(key: key)), decoding: value))
            return true
        }
        return records
    }

    /// Throws `badVersion` unless `version` is -1 or the node's version; `noNode` when it is absent.
    @discardableResult
    func checkVersion(_ path: ZNodePath, _ version: Int32, _ w: TreeTransaction) throws -> (
        id: NodeID, record: NodeRecord
    ) {
        try checkedNode(path, needing: [], by: .server, version: version, w)
    }

    /// The node at `path`, after ZooKeeper's checks in its order: `noNode` when it is absent, `noAuth` unless its
    /// ACL grants `identity` one of `needed` (none: no check), `badVersion` unless `version` is -1 or the version
    /// `\.aversion` picks (the data version by default).
    func checkedNode(
        _ path: ZNodePath, needing needed: Permissions, by identity: Identity, version: Int32,
        of counter: KeyPath<Stat, Int32> = \.version, _ w: TreeTransaction
    ) throws -> (id: NodeID, record: NodeRecord) {
        guard let (id, node) = try w.lookup(path) else { throw CairnError.noNode(path) }
        if !needed.isEmpty { try identity.check(needed, in: node.acl, at: path) }
        let actual = node.stat[keyPath: counter]
        if version != -1 && version != actual { throw CairnError.badVersion(path, expected: version, actual: actual) }
        return (id, node)
    }

}
