import CairnCore

/// Reads the op record after a request header into the core's typed request (`ClientRequest`), ZooKeeper's way:
/// create modes from flags, paths checked as ZooKeeper checks them (`bad_arguments`, its BadArguments), multi's
/// headers and terminator.
public struct ZooKeeperRequestDecoder: Sendable {
    public let maxOpsPerMulti: Int

    public init(maxOpsPerMulti: Int) { self.maxOpsPerMulti = maxOpsPerMulti }

    /// What a request header and its record mean.
    public enum Decoded: Sendable {
        case request(ClientRequest)
        /// ZooKeeper answers these -6 (reconfig -123, see `ZooKeeperReplies`) and keeps the connection: createTTL
        /// without extended types, reconfig on a standalone server, sasl, and what Cairn does not do yet.
        case refused
        /// An opcode ZooKeeper does not know: -6, then the connection closes.
        case unknown
    }

    public func decode(_ type: Int32, _ r: inout JuteReader) throws(JuteReader.Malformed) -> Result<Decoded, CairnError>
    {
        guard let op = ZooKeeperOpCode(rawValue: type) else { return .success(.unknown) }
        do throws(CairnError) {
            return .success(try decode(op, &r))
        } catch {
            return .failure(error)
        }
    }

    private func decode(_ op: ZooKeeperOpCode, _ r: inout JuteReader) throws(CairnError) -> Decoded {
        do {
            switch op {
            case .create, .create2, .createContainer:
                return .request(.change(try create(op, &r)))
            case .createTTL, .reconfig, .sasl, .deleteContainer:
                return .refused
            // Outside a multi too, as ZooKeeper 3.8 answers it (NoNode, BadVersion, or no body).
            case .check: return .request(.change(.check(path: try path(&r), version: try r.int())))
            case .error: return .unknown
            case .delete, .setData: return .request(.change(try change(op, &r)))
            case .exists: return .request(.exists(try path(&r), watch: try r.bool()))
            case .getData: return .request(.get(try path(&r), watch: try r.bool()))
            case .getChildren, .getChildren2: return .request(.children(try path(&r), watch: try r.bool()))
            case .getACL: return .request(.getACL(try path(&r)))
            case .setACL:
                let path = try path(&r)
                let acl = try ZooKeeperRecords.readACL(&r)
                return .request(.change(.setACL(path: path, acl: acl, version: try r.int())))
            case .sync: return .request(.sync(try path(&r)))
            case .ping: return .request(.ping)
            case .closeSession: return .request(.close)
            case .whoAmI: return .request(.whoAmI)
            case .getEphemerals: return .request(.ephemerals(prefix: try r.string() ?? "/"))
            case .getAllChildrenNumber: return .request(.descendantCount(try path(&r)))
            case .auth:
                _ = try r.int()
                let scheme = try r.string() ?? ""
                let credentials = try r.buffer() ?? []
                return .request(.auth(scheme: scheme, credentials: String(decoding: credentials, as: UTF8.self)))
            case .addWatch:
                let path = try path(&r)
                let mode = try r.int()
                guard mode == 0 || mode == 1 else { throw CairnError.badArguments("addWatch mode \(mode)") }
                return .request(.addWatch(path, recursive: mode == 1, since: nil))
            case .removeWatches, .checkWatches:
                let path = try path(&r)
                // WatcherType: Children 1, Data 2, Any 3, Persistent 4, PersistentRecursive 5.
                let selection: WatchSelection
                switch try r.int() {
                case 1: selection = .child
                case 2: selection = .data
                case 3: selection = .any
                case 4: selection = .persistent
                case 5: selection = .recursive
                case let type: throw CairnError.badArguments("watcher type \(type)")
                }
                return .request(op == .checkWatches ? .countWatches(path, selection) : .removeWatch(path, selection))
            case .multi: return .request(.multi(try multi(&r)))
            case .multiRead: return .request(.readMulti(try multiRead(&r)))
            case .setWatches, .setWatches2:
                let relativeZxid = try r.long()
                func paths() throws -> [ZNodePath] {
                    let raw = try r.vector { (r) throws(JuteReader.Malformed) in try r.string() ?? "" } ?? []
                    return try raw.map { try ZNodePath($0) }
                }
                let data = try paths()
                let exist = try paths()
                let child = try paths()
                let persistent = op == .setWatches2 ? try paths() : []
                let recursive = op == .setWatches2 ? try paths() : []
                return .request(
                    .restoreWatches(
                        WatchRestore(
                            relativeZxid: Zxid(bitPattern: relativeZxid), data: data, exist: exist, child: child,
                            persistent: persistent, persistentRecursive: recursive)))
            }
        } catch let error as JuteReader.Malformed {
            throw .malformed(error.description)
        } catch let error as CairnError {
            throw error
        } catch {
            throw .internal("\(error)")
        }
    }

    /// A multi's ops.
    func multi(_ r: inout JuteReader) throws -> [Operation] {
        try multiRecord(&r) { op, r in
            switch op {
            case .create, .create2, .createContainer: return try create(op, &r)
            case .delete, .setData: return try change(op, &r)
            case .check: return .check(path: try path(&r), version: try r.int())
            default: return nil
            }
        }
    }

    /// A multiRead's reads: GetDataRequest or GetChildrenRequest{path, watch}; the watch flag is not honoured (Java's
    /// Op.getData and Op.getChildren never set it).
    func multiRead(_ r: inout JuteReader) throws -> [MultiRead] {
        try multiRecord(&r) { op, r in
            guard op == .getData || op == .getChildren else { return nil }
            let path = try path(&r)
            _ = try r.bool()
            return op == .getData ? .get(path) : .children(path)
        }
    }

    /// A MultiOperationRecord: each op a MultiHeader{type, done, err} and its record, which `op` reads (nil: an op
    /// that cannot be in this kind of multi), up to a header with done set.
    private func multiRecord<Op>(
        _ r: inout JuteReader, _ op: (ZooKeeperOpCode, inout JuteReader) throws -> Op?
    ) throws -> [Op] {
        var operations: [Op] = []
        while true {
            let type = try r.int()
            let done = try r.bool()
            _ = try r.int()
            if done { break }
            guard operations.count < maxOpsPerMulti else {
                throw CairnError.tooLarge("a multi of more than \(maxOpsPerMulti) ops")
            }
            do {
                guard let code = ZooKeeperOpCode(rawValue: type) else {
                    throw CairnError.malformed("op \(type) in a multi")
                }
                guard let operation = try op(code, &r) else {
                    throw CairnError.malformed("op \(type) cannot be in this multi")
                }
                operations.append(operation)
            } catch let error as CairnError {
                throw CairnError.multiFailed(index: operations.count, cause: error)
            }
        }
        try r.end()
        return operations
    }

    /// CreateRequest{path, data, acl, flags}: flags 0 persistent, 1 ephemeral, 2 and 3 their sequential forms, 4 a
    /// container (createContainer must say 4).
    private func create(_ op: ZooKeeperOpCode, _ r: inout JuteReader) throws -> Operation {
        let raw = try r.string() ?? ""
        let data = try r.buffer()
        let acl = try ZooKeeperRecords.readACL(&r)
        let flags = try r.int()
        let kind: NodeKind
        switch flags {
        case 0, 2: kind = .persistent
        case 1, 3: kind = .ephemeral
        case 4: kind = .container
        default: throw CairnError.badArguments("create flags \(flags)")
        }
        if op == .createContainer && flags != 4 { throw CairnError.badArguments("createContainer needs flags 4") }
        let sequential = flags == 2 || flags == 3
        // A sequential create's path may end in '/': the suffix is appended first (ZooKeeper's order).
        if !sequential { _ = try ZNodePath(raw) }
        return .create(path: raw, data: data, kind: kind, sequential: sequential, acl: acl)
    }

    private func change(_ op: ZooKeeperOpCode, _ r: inout JuteReader) throws -> Operation {
        let path = try path(&r)
        if op == .delete { return .delete(path: path, version: try r.int()) }
        let data = try r.buffer()
        return .setData(path: path, data: data, version: try r.int())
    }

    private func path(_ r: inout JuteReader) throws -> ZNodePath { try ZNodePath(try r.string() ?? "") }
}
