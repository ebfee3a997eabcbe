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
        case .createNode(let path, let data, let kind, let owner):
            let stat = try w.create(path, data: data, kind: kind, owner: owner, zxid: zxid, time: time)
            return .created(path: path, stat: stat)
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
        guard let (id, node) = try w.lookup(path) else { throw CairnError.noNode(path) }
        if version != -1 && version != node.stat.version {
            throw CairnError.badVersion(path, expected: version, actual: node.stat.version)
        }
        return (id, node)
    }
}
