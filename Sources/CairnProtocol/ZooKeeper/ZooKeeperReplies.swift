import CairnCore
import NIOCore

/// Answers as ZooKeeper writes them: a reply header (the request's xid, the zxid, an error code) and, on success, the
/// op's response record (`zookeeper.jute`); ZooKeeper's special cases included (a missing node's `exists` is NoNode,
/// a multi's failure is per-op results under error 0, addWatch's 4-byte body).
public enum ZooKeeperReplies {
    /// Writes the answer to a request of `op` (nil: the handshake; `.error`: an opcode ZooKeeper does not know) with
    /// `xid`; returns whether the connection must then close (a failed handshake or auth, closeSession).
    public static func write(
        _ outcome: ReplyLine.Outcome, for op: ZooKeeperOpCode?, xid: Int32, operations: Int, readOnly: Bool?,
        password: [UInt8]?, into w: inout JuteWriter
    ) -> Bool {
        guard let op else { return handshake(outcome, readOnly: readOnly, password: password, into: &w) }
        let replyXid: Int32 =
            switch op {
            case .ping: -2
            case .auth: -4
            default: xid
            }
        switch outcome {
        case .failed(let error):
            if op == .multi, let index = error.index {
                ZooKeeperRecords.replyHeader(xid: replyXid, zxid: 0, error: 0, into: &w)
                failedMulti(at: index, code: ZooKeeperError(error.code).rawValue, of: operations, into: &w)
                return false
            }
            let code: ZooKeeperError =
                error.code == .unknownOp && op == .reconfig ? .reconfigDisabled : .init(error.code)
            ZooKeeperRecords.replyHeader(xid: replyXid, zxid: 0, error: code.rawValue, into: &w)
            return op == .auth
        case .ok(let zxid, let reply):
            let zxid = Int64(bitPattern: zxid)
            switch reply {
            case .exists(nil):
                ZooKeeperRecords.replyHeader(xid: replyXid, zxid: zxid, error: ZooKeeperError.noNode.rawValue, into: &w)
            case .watchRemoved(0):
                ZooKeeperRecords.replyHeader(
                    xid: replyXid, zxid: zxid, error: ZooKeeperError.noWatcher.rawValue, into: &w)
            case .count(0) where op == .checkWatches:
                ZooKeeperRecords.replyHeader(
                    xid: replyXid, zxid: zxid, error: ZooKeeperError.noWatcher.rawValue, into: &w)
            default:
                ZooKeeperRecords.replyHeader(xid: replyXid, zxid: op == .auth ? 0 : zxid, error: 0, into: &w)
                body(reply, for: op, into: &w)
            }
            return op == .closeSession
        }
    }

    private static func body(_ reply: Reply, for op: ZooKeeperOpCode, into w: inout JuteWriter) {
        switch reply {
        case .changed(let result): self.result(result, for: op, into: &w)
        case .multi(let results):
            for result in results {
                let type: ZooKeeperOpCode =
                    switch result {
                    case .created: .create
                    case .deleted: .delete
                    case .set: .setData
                    case .checked: .check
                    case .aclSet: .setACL
                    // Only a JSON-lines load asks for it.
                    case .countersRestored: .check
                    }
                multiHeader(type.rawValue, done: false, error: 0, into: &w)
                self.result(result, for: type, into: &w)
            }
            multiHeader(-1, done: true, error: -1, into: &w)
        case .reads(let results):
            for result in results {
                switch result {
                case .success(.node(let data, let stat)):
                    multiHeader(ZooKeeperOpCode.getData.rawValue, done: false, error: 0, into: &w)
                    w.buffer(data)
                    ZooKeeperRecords.write(stat, into: &w)
                case .success(let reply):
                    multiHeader(ZooKeeperOpCode.getChildren.rawValue, done: false, error: 0, into: &w)
                    if case .children(let names, _) = reply { w.vector(names) { w, name in w.string(name) } }
                case .failure(let error):
                    let code = ZooKeeperError(error.code).rawValue
                    multiHeader(ZooKeeperOpCode.error.rawValue, done: false, error: code, into: &w)
                    w.int(code)
                }
            }
            multiHeader(-1, done: true, error: -1, into: &w)
        case .node(let data, let stat):
            w.buffer(data)
            ZooKeeperRecords.write(stat, into: &w)
        case .exists(let stat?): ZooKeeperRecords.write(stat, into: &w)
        case .children(let names, let stat):
            w.vector(names) { w, name in w.string(name) }
            if op == .getChildren2 { ZooKeeperRecords.write(stat, into: &w) }
        case .synced(let path): w.string(path.string)
        case .watchAdded: w.int(0)
        case .acl(let acl, let stat):
            ZooKeeperRecords.write(acl, into: &w)
            ZooKeeperRecords.write(stat, into: &w)
        case .whoAmI(let principals):
            w.vector(principals) { w, principal in
                w.string(principal.scheme)
                // ZooKeeper names a digest id by its user.
                w.string(principal.scheme == "digest" ? String(principal.id.prefix { $0 != ":" }) : principal.id)
            }
        case .count(let count): if op == .getAllChildrenNumber { w.int(Int32(clamping: count)) }
        case .paths(let paths): w.vector(paths) { w, path in w.string(path) }
        case .done, .exists(nil), .watchRemoved, .connected, .stats, .dumped, .snapshotTaken, .snapshots, .sessions:
            break
        }
    }

    /// A change's response record: create's path (create2 and createContainer with the stat), setData's and setACL's
    /// stat; delete and check have none.
    private static func result(_ result: OperationResult, for op: ZooKeeperOpCode, into w: inout JuteWriter) {
        switch result {
        case .created(let path, let stat):
            w.string(path.string)
            if op == .create2 || op == .createContainer { ZooKeeperRecords.write(stat, into: &w) }
        case .set(let stat), .aclSet(let stat): ZooKeeperRecords.write(stat, into: &w)
        case .deleted, .checked, .countersRestored: break
        }
    }

    /// ZooKeeper's failed multi: every op an error result, 0 before the failing one, its code, -2 after.
    private static func failedMulti(at index: Int, code: Int32, of count: Int, into w: inout JuteWriter) {
        for i in 0..<max(count, index + 1) {
            let error: Int32 = i < index ? 0 : i == index ? code : ZooKeeperError.runtimeInconsistency.rawValue
            multiHeader(ZooKeeperOpCode.error.rawValue, done: false, error: error, into: &w)
            w.int(error)
        }
        multiHeader(-1, done: true, error: -1, into: &w)
    }

    private static func multiHeader(_ type: Int32, done: Bool, error: Int32, into w: inout JuteWriter) {
        w.int(type)
        w.bool(done)
        w.int(error)
    }

    /// The ConnectResponse: the session (a resume echoes the password it was sent), or timeout 0 and a close.
    private static func handshake(
        _ outcome: ReplyLine.Outcome, readOnly: Bool?, password: [UInt8]?, into w: inout JuteWriter
    ) -> Bool {
        guard case .ok(_, .connected(let session, let created, let timeout)) = outcome,
            let password = created ?? password
        else {
            ZooKeeperRecords.ConnectResponse.expired(readOnly: readOnly).write(into: &w)
            return true
        }
        ZooKeeperRecords.ConnectResponse(
            timeoutMilliseconds: Int32(clamping: timeout), sessionID: Int64(bitPattern: session.rawValue),
            password: password, readOnly: readOnly
        ).write(into: &w)
        return false
    }
}
