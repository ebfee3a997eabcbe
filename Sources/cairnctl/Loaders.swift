import Cairn
import CairnCore
import CairnProtocol
import CairnStore
import Foundation

/// The nodes of a load whose subtrees are still coming, innermost last. The dump is depth first, so a node's
/// subtree is complete once a node arrives that is not below it: then its counters can be restored.
struct OpenSubtrees {
    struct Subtree {
        var path: ZNodePath
        var counters: NodeCounters
        /// Children loaded below it so far.
        var children = 0
    }

    private var stack: [Subtree] = []

    /// Closes the subtrees `path` is not in, innermost first, and counts `path` as a child of the one it is below.
    mutating func arriving(_ path: ZNodePath) -> [Subtree] {
        var closed: [Subtree] = []
        while let last = stack.last, !path.isDescendant(ofOrEqualTo: last.path) || path == last.path {
            closed.append(stack.removeLast())
        }
        if let last = stack.indices.last, stack[last].path.isParent(of: path) { stack[last].children += 1 }
        return closed
    }

    mutating func open(_ path: ZNodePath, _ counters: NodeCounters) {
        stack.append(Subtree(path: path, counters: counters))
    }

    mutating func closeAll() -> [Subtree] {
        defer { stack = [] }
        return stack.reversed()
    }
}

/// Loads through a server: one `multi` per batch (creates, or sets when overwriting, and `restore_counters` for each
/// subtree done), up to sixteen batches in flight: the server's commits then always have the next ones waiting.
struct LiveLoader: NodeLoader {
    let client: CairnClient
    let conflict: Load.Conflict
    let dryRun: Bool
    let batchSize: Int
    private var ops: [MultiOp] = []
    private var paths: [String] = []
    private var nodes = 0
    private var open = OpenSubtrees()
    private var inFlight: [(reply: PendingMulti, paths: [String], nodes: Int)] = []
    private var loaded = 0
    private var skipped = 0

    init(client: CairnClient, conflict: Load.Conflict, dryRun: Bool, batchSize: Int) {
        self.client = client
        self.conflict = conflict
        self.dryRun = dryRun
        self.batchSize = batchSize
    }

    mutating func add(_ node: LoadNode, create: Bool) async throws {
        for done in open.arriving(node.node.path) { restore(done) }
        if create {
            let path = node.node.path.string
            let exists = conflict != .fail ? try await reachable { try await client.exists(path) } != nil : false
            if exists && conflict == .skip {
                skipped += 1
            } else {
                let data = node.node.data
                ops.append(
                    exists
                        ? .set(path, data: data)
                        : .create(path, data: data, mode: node.node.kind.createMode, acl: node.node.acl))
                paths.append(path)
                nodes += 1
            }
        }
        if let counters = node.counters { open.open(node.node.path, counters) }
        if ops.count >= batchSize { try await send() }
    }

    mutating func finish() async throws -> (loaded: Int, skipped: Int) {
        for done in open.closeAll() { restore(done) }
        try await send()
        while !inFlight.isEmpty { try await awaitOldest() }
        return (loaded, skipped)
    }

    private mutating func restore(_ subtree: OpenSubtrees.Subtree) {
        guard !subtree.counters.isInitial else { return }
        ops.append(.restoreCounters(subtree.path.string, subtree.counters))
        paths.append(subtree.path.string)
    }

    private mutating func send() async throws {
        guard !ops.isEmpty else { return }
        defer {
            ops = []
            paths = []
            nodes = 0
        }
        if dryRun {
            loaded += nodes
            return
        }
        let batch = ops
        inFlight.append((try await reachable { try await client.sendBulk(batch) }, paths, nodes))
        if inFlight.count >= 16 { try await awaitOldest() }
    }

    private mutating func awaitOldest() async throws {
        let (reply, paths, nodes) = inFlight.removeFirst()
        do {
            _ = try await reply.results()
        } catch let error as ClientError {
            if case .server(let code, let message, let index, _) = error {
                throw LoadFailure(
                    path: index.map { paths[$0] } ?? paths.first ?? "?", reason: "\(code.rawValue): \(message)",
                    loaded: loaded)
            }
            fail("cannot reach the server: \(error)", code: .unreachable)
        }
        loaded += nodes
    }

    private func reachable<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as ClientError {
            if case .server = error { throw error }
            fail("cannot reach the server: \(error)", code: .unreachable)
        }
    }
}

/// Loads a dump with stats (format 2) into a new data directory exactly (`Store.importTree`).
struct ImportLoader: NodeLoader {
    let dataDir: String
    let header: DumpFormat.Header
    private var tree: TreeImport?

    init(dataDir: String, header: DumpFormat.Header) {
        self.dataDir = dataDir
        self.header = header
    }

    mutating func add(_ node: LoadNode, create: Bool) async throws {
        let importer = try begun()
        var restored = node.node
        if !create && !restored.path.isRoot {
            // `--at`: the dump's root goes below ancestors that are new here, each with that one child.
            var ancestor = restored.path.parent
            var missing: [ZNodePath] = []
            while let path = ancestor, !path.isRoot {
                missing.append(path)
                ancestor = path.parent
            }
            for path in missing.reversed() {
                let stat = Stat.created(zxid: 0, time: header.created, owner: nil, dataLength: 0)
                try add(ZNode(path: path, data: [], stat: stat, kind: .persistent, acl: .open), sequence: 1, importer)
            }
        }
        if restored.kind == .ephemeral { restored.kind = .persistent }
        restored.stat.ephemeralOwner = nil
        try add(restored, sequence: node.counters?.sequence ?? 0, importer)
    }

    private func add(_ node: ZNode, sequence: Int32, _ importer: TreeImport) throws {
        try failing(importer) { try importer.add(node, sequence: sequence) }
    }

    mutating func finish() async throws -> (loaded: Int, skipped: Int) {
        let importer = try begun()
        return (try failing(importer) { try importer.finish().nodes }, 0)
    }

    /// `body`, with a node the import cannot take made the load's failure (the directory stays marked unfinished).
    private func failing<T>(_ importer: TreeImport, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let failure as TreeImport.Failure {
            importer.abandon()
            throw LoadFailure(path: failure.path.string, reason: failure.description, loaded: importer.added)
        }
    }

    private mutating func begun() throws -> TreeImport {
        if let tree { return tree }
        do {
            let tree = try Store.importTree(into: DataDirectory(dataDir), zxid: header.zxid, logger: silentLogger)
            self.tree = tree
            return tree
        } catch {
            fail("\(error)", code: .failed)
        }
    }
}

/// Loads a dump without stats (format 1) into a new data directory through the storage engine: changes of many
/// creates each, no server. Their counters restart, as they did when the dump was written.
struct OfflineLoader: NodeLoader {
    let store: Store
    let dryRun: Bool
    let batchSize: Int
    private var batch: [ZNode] = []
    private var loaded = 0

    init(dataDir: String, dryRun: Bool, batchSize: Int) throws {
        store = try openOffline(dataDir)
        self.dryRun = dryRun
        self.batchSize = batchSize
        if try store.read({ try $0.nodeCount }) > ZNodePath.systemNodes.count + 1 {
            store.close()
            fail("\(dataDir) already holds nodes; offline load only fills a new data directory", code: .failed)
        }
    }

    mutating func add(_ node: LoadNode, create: Bool) async throws {
        guard create else { return }
        batch.append(node.node)
        if batch.count >= batchSize { try await commit() }
    }

    mutating func finish() async throws -> (loaded: Int, skipped: Int) {
        try await commit()
        return (loaded, 0)
    }

    private mutating func commit() async throws {
        guard !batch.isEmpty else { return }
        defer { batch = [] }
        if !dryRun {
            let ops = batch.map {
                Operation.create(path: $0.path.string, data: $0.data, kind: $0.kind, sequential: false, acl: $0.acl)
            }
            do {
                _ = try await store.commit(.multi(ops))
            } catch {
                let index = if case .multiFailed(let index, _) = error { index } else { 0 }
                throw LoadFailure(path: batch[index].path.string, reason: "\(error)", loaded: loaded)
            }
        }
        loaded += batch.count
    }

    func close() { store.close() }
}

extension NodeKind {
    var createMode: CreateMode {
        switch self {
        case .persistent: .persistent
        case .ephemeral: .ephemeral
        case .container: .container
        case .persistentWithTTL(let ttl): .persistentWithTTL(.milliseconds(ttl))
        }
    }
}
