import CairnCore
import CairnProtocol

/// Loads into a running ZooKeeper: one multi per batch, parents first, up to four in flight. Nodes keep their data,
/// ACL and kind; versions and zxids restart there. A sequence counter is carried over by creating and deleting
/// `cairn-sequence-` sequential children once a subtree is loaded, until the next sequential name is the dump's.
struct ZooKeeperLoader: NodeLoader {
    let zk: ZooKeeperConnection
    let dryRun: Bool
    let batchSize: Int
    private var batch = JuteWriter(.init())
    private var batchPaths: [String] = []
    private var open = OpenSubtrees()
    /// Multis sent, oldest first: their xids, their ops' paths, and whether those are nodes of the dump (not the
    /// creates and deletes that carry a sequence counter).
    private var inFlight: [(xid: Int32, paths: [String], loading: Bool)] = []
    private var loaded = 0

    init(zk: ZooKeeperConnection, dryRun: Bool, batchSize: Int) {
        self.zk = zk
        self.dryRun = dryRun
        self.batchSize = batchSize
    }

    mutating func add(_ node: LoadNode, create: Bool) async throws {
        for done in open.arriving(node.node.path) { try await advance(done) }
        if !create && !node.node.path.isRoot && !dryRun { try await createParents(node.node.path) }
        if create {
            let n = node.node
            let kind: NodeKind = n.kind == .ephemeral ? .persistent : n.kind
            let headerAt = batch.bytes.writerIndex
            ZooKeeperRecords.writeMultiHeader(0, done: false, into: &batch)
            let type = ZooKeeperRecords.writeCreate(
                n.path.string, data: n.data, acl: n.acl, kind: kind, sequential: false, into: &batch)
            batch.bytes.setInteger(type.rawValue, at: headerAt)
            batchPaths.append(n.path.string)
        }
        if let counters = node.counters { open.open(node.node.path, counters) }
        if batchPaths.count >= batchSize { try await send() }
    }

    mutating func finish() async throws -> (loaded: Int, skipped: Int) {
        for done in open.closeAll() { try await advance(done) }
        try await send()
        while !inFlight.isEmpty { _ = try await awaitOldest() }
        return (loaded, 0)
    }

    /// Sends the batch as one multi.
    private mutating func send() async throws {
        guard !batchPaths.isEmpty else { return }
        defer {
            batch = JuteWriter(.init())
            batchPaths = []
        }
        if dryRun {
            loaded += batchPaths.count
            return
        }
        queueMulti(batch, paths: batchPaths, loading: true)
        if inFlight.count >= 4 { _ = try await awaitOldest() }
    }

    /// Queues `ops` (each after its MultiHeader) as one multi, its terminator added.
    private mutating func queueMulti(_ ops: JuteWriter, paths: [String], loading: Bool) {
        var ops = ops
        ZooKeeperRecords.writeMultiHeader(-1, done: true, into: &ops)
        let xid = zk.queue(.multi) { w in w.bytes.writeImmutableBuffer(ops.bytes) }
        inFlight.append((xid, paths, loading))
    }

    /// The oldest multi's reply: the paths its ops returned; throws `LoadFailure` for the op that failed.
    private mutating func awaitOldest() async throws -> [String] {
        let (xid, paths, loading) = inFlight.removeFirst()
        while true {
            guard case .reply(let replyXid, _, let error, var body) = try await zk.next(), replyXid == xid else {
                continue
            }
            var created: [String] = []
            for index in paths.indices {
                let type = try body.int()
                _ = try body.bool()
                let code = try body.int()
                if type == -1 || code != 0 {
                    guard code == 0 || code == ZooKeeperError.runtimeInconsistency.rawValue else {
                        throw LoadFailure(path: paths[index], reason: Self.describe(code), loaded: loaded)
                    }
                    _ = try body.int()
                    continue
                }
                // A delete's result has no record; a create's is its path, and create2's kinds add the stat.
                guard type != ZooKeeperOpCode.delete.rawValue else { continue }
                created.append(try body.string() ?? "")
                if type != ZooKeeperOpCode.create.rawValue { _ = try ZooKeeperRecords.readStat(&body) }
            }
            if error != 0 && created.count < paths.count {
                throw LoadFailure(path: paths.first ?? "?", reason: Self.describe(error), loaded: loaded)
            }
            if loading { loaded += paths.count }
            return created
        }
    }

    /// Once `subtree` is loaded: sequential creates and deletes below it until its counter is the dump's.
    private mutating func advance(_ subtree: OpenSubtrees.Subtree) async throws {
        var missing = Int(subtree.counters.sequence) - subtree.children
        guard missing > 0, !dryRun else { return }
        try await send()
        while !inFlight.isEmpty { _ = try await awaitOldest() }
        let prefix = subtree.path.appending("cairn-sequence-").string
        while missing > 0 {
            let count = min(missing, batchSize)
            var creates = JuteWriter(.init())
            for _ in 0..<count {
                ZooKeeperRecords.writeMultiHeader(ZooKeeperOpCode.create.rawValue, done: false, into: &creates)
                _ = ZooKeeperRecords.writeCreate(
                    prefix, data: [], acl: .open, kind: .persistent, sequential: true, into: &creates)
            }
            let names = try await multi(creates, paths: Array(repeating: subtree.path.string, count: count))
            var deletes = JuteWriter(.init())
            for name in names {
                ZooKeeperRecords.writeMultiHeader(ZooKeeperOpCode.delete.rawValue, done: false, into: &deletes)
                deletes.string(name)
                deletes.int(-1)
            }
            _ = try await multi(deletes, paths: names)
            missing -= count
        }
    }

    /// Creates `path` and each missing node above it, empty (what `--at` names), one at a time.
    private func createParents(_ path: ZNodePath) async throws {
        var prefix = ZNodePath.root
        for segment in path.segments {
            prefix = prefix.appending(segment)
            let xid = zk.queue(.create) { w in
                _ = ZooKeeperRecords.writeCreate(
                    prefix.string, data: [], acl: .open, kind: .persistent, sequential: false, into: &w)
            }
            while true {
                guard case .reply(let replyXid, _, let error, _) = try await zk.next(), replyXid == xid else {
                    continue
                }
                guard error == 0 || error == ZooKeeperError.nodeExists.rawValue else {
                    throw LoadFailure(path: prefix.string, reason: Self.describe(error), loaded: loaded)
                }
                break
            }
        }
    }

    /// Sends `ops` as a multi now and waits for its results (not counted as loaded nodes).
    private mutating func multi(_ ops: JuteWriter, paths: [String]) async throws -> [String] {
        queueMulti(ops, paths: paths, loading: false)
        return try await awaitOldest()
    }

    private static func describe(_ code: Int32) -> String {
        switch ZooKeeperError(rawValue: code) {
        case .nodeExists: "it exists already in ZooKeeper (error \(code))"
        case .noNode: "its parent is missing in ZooKeeper (error \(code))"
        case .noAuth: "ZooKeeper refused it: no permission (error \(code)); --auth as the owner or the super user"
        case .invalidACL: "ZooKeeper refused its ACL (error \(code))"
        case .unimplemented:
            "ZooKeeper does not take this kind of node (error \(code)): TTL nodes need extendedTypesEnabled=true"
        default: "ZooKeeper answered error \(code)"
        }
    }
}
