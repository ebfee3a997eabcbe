import CLinuxFileIO
import CairnCore
import LMDB
import Logging

extension Store {
    /// Begins a new data directory that will hold exactly the nodes added to the returned `TreeImport`, parents
    /// first: each one's data, kind, ACL, stat (zxids, times, versions) and sequence counter as a dump states them.
    /// They go straight into LMDB in large transactions, not through the log; `TreeImport.finish` copies the result
    /// as the directory's first snapshot, so it is as durable as a restored snapshot. Until then
    /// `<data-dir>/LOADING` marks the directory unfinished: `Store.open` refuses it. The store's zxid is `zxid`, or
    /// the newest a node names when that is later. Blocking, like every call of the import.
    public static func importTree(into directory: DataDirectory, zxid: Zxid, logger: Logger) throws -> TreeImport {
        if FileSystem.exists(directory.storeData) || !((try? WALSegment.list(in: directory.wal)) ?? []).isEmpty {
            throw StoreError.noRecoverableState(
                "\(directory.path) already holds a store or a WAL; load into a new, empty data directory")
        }
        try directory.create()
        let lock = try DataDirectoryLock(directory)
        do {
            try FileSystem.writeAtomically([], to: directory.loadingMarker, directory: directory.path)
            try DataFormat.current.write(directory)
            let configuration = Configuration(dataDirectory: directory.path)
            let environment = try openEnvironment(configuration)
            let databases = try StoreDatabases(environment: environment)
            let applier = ChangeApplier(tree: ZNodeTree(db: databases), maxDataSize: configuration.maxDataSize)
            try initializeIfEmpty(environment, applier)
            try environment.write { txn in
                let tree = TreeTransaction(applier.tree, txn)
                try tree.createSystemNodes()
                try tree.flush()
            }
            return TreeImport(
                directory: directory, lock: lock, environment: environment, applier: applier, zxid: zxid,
                maxMapSize: configuration.maxMapSize, logger: logger)
        } catch {
            lock.release(clean: false)
            throw error
        }
    }
}

/// The nodes of a `Store.importTree`, written a chunk at a time (one write transaction each, retried on a grown map
/// when the map is full). Not for concurrent use.
public final class TreeImport {
    private let directory: DataDirectory
    private let lock: DataDirectoryLock
    private let environment: Environment
    private let applier: ChangeApplier
    private let maxMapSize: Int
    private let logger: Logger
    private var pending: [(node: ZNode, sequence: Int32)] = []
    private var pendingBytes = 0
    private var count = 0
    private var released = false
    /// Nodes written so far (the pending ones not yet).
    public var added: Int { count }
    /// The store's zxid once done: at least every zxid a node names.
    private var zxid: Zxid

    /// A node that cannot be added, and why.
    public struct Failure: Error, CustomStringConvertible {
        public var path: ZNodePath
        public var cause: any Error
        public var description: String { "\(cause)" }
    }

    init(
        directory: DataDirectory, lock: DataDirectoryLock, environment: Environment, applier: ChangeApplier, zxid: Zxid,
        maxMapSize: Int, logger: Logger
    ) {
        self.directory = directory
        self.lock = lock
        self.environment = environment
        self.applier = applier
        self.zxid = zxid
        self.maxMapSize = maxMapSize
        self.logger = logger
    }

    /// Adds `node` (the root: its data, ACL, stat and counter) as it is, with `sequence` as its sequence counter. Its
    /// parent must have been added before it, or exist (the root, the system nodes); it must not be ephemeral (its
    /// session is not restored).
    public func add(_ node: ZNode, sequence: Int32) throws {
        guard node.kind != .ephemeral else {
            throw Failure(path: node.path, cause: CairnError.badArguments("an ephemeral node cannot be restored"))
        }
        zxid = max(zxid, node.stat.czxid, node.stat.mzxid, node.stat.pzxid)
        pending.append((node, sequence))
        pendingBytes += 128 + (node.data?.count ?? 0)
        if pending.count >= 100_000 || pendingBytes >= 64 << 20 { try flush() }
    }

    /// Writes what is pending, syncs the store, takes the first snapshot and removes the `LOADING` mark; returns how
    /// many nodes were added and the store's zxid.
    public func finish() throws -> (nodes: Int, zxid: Zxid) {
        do {
            try flush()
            try environment.write { txn in try applier.setAppliedZxid(zxid, txn) }
            try environment.sync()
            _ = try SnapshotStore(directory: directory.snapshots, logger: logger).take(environment, compact: false)
            try FileSystem.remove(directory.loadingMarker)
        } catch {
            abandon()
            throw error
        }
        released = true
        lock.release(clean: true)
        return (count, zxid)
    }

    /// Gives the directory up unfinished (it stays marked `LOADING`); once only.
    public func abandon() {
        guard !released else { return }
        released = true
        lock.release(clean: false)
    }

    private func flush() throws {
        guard !pending.isEmpty else { return }
        while true {
            do {
                try environment.write { txn in
                    let tree = TreeTransaction(applier.tree, txn)
                    for (node, sequence) in pending {
                        do {
                            if node.path.isRoot {
                                try tree.restoreRoot(node, sequence: sequence)
                            } else {
                                try tree.restore(node, sequence: sequence)
                            }
                        } catch let error as CairnError {
                            throw Failure(path: node.path, cause: error)
                        }
                    }
                    try tree.flush()
                }
                break
            } catch let error as LMDBError where error.isMapFull {
                try environment.growMap(limit: maxMapSize, logger: logger)
            }
        }
        // The pages go to disk while the next chunks are decoded and written, not all in `finish`'s sync.
        _ = cairn_start_writeback(environment.dataFileDescriptor, 0, 0)
        count += pending.count
        pending.removeAll(keepingCapacity: true)
        pendingBytes = 0
    }
}
