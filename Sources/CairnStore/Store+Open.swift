import CairnCore
import LMDB
import Logging

extension Store {
    /// Opens the store in `configuration.dataDirectory`, recovering as needed:
    ///
    /// 1. Lock the directory (a second process is refused); delete what interrupted snapshots and restores left.
    /// 2. Open LMDB and read its applied zxid — unless the files are missing or invalid, or the last
    ///    shutdown was unclean and the machine rebooted since; then restore the newest snapshot that
    ///    verifies (or start empty when there is none).
    /// 3. Replay every WAL record after that zxid; cut a torn tail; stop on damage anywhere else.
    @available(*, noasync)
    public static func open(_ configuration: Configuration, logger: Logger = Logger(label: "cairn.store")) throws
        -> Store
    {
        let directory = configuration.dataDirectory
        try directory.create()
        let lock = try DataDirectoryLock(directory)
        do {
            return try open(configuration, lock: lock, logger: logger)
        } catch {
            lock.release(clean: false)
            throw error
        }
    }

    @available(*, noasync)
    private static func open(_ configuration: Configuration, lock: DataDirectoryLock, logger: Logger) throws -> Store {
        let started = ContinuousClock.now
        let directory = configuration.dataDirectory
        let snapshots = SnapshotStore(directory: directory.snapshots, logger: logger)
        if FileSystem.exists(directory.loadingMarker) {
            throw StoreError.noRecoverableState(
                "an offline load into \(directory.path) did not finish (\(directory.loadingMarker) is there): delete the directory and load again"
            )
        }
        let format = try DataFormat.read(directory)
        try snapshots.removeInterruptedFiles()
        try removeInterruptedRestore(directory, logger: logger)
        var source = RecoveryReport.Source.store
        var environment: Environment?
        if lock.lastShutdownLostPower {
            logger.warning(
                "the last shutdown was unclean and the machine rebooted since: LMDB may have lost unsynced pages, restoring from a snapshot",
                metadata: ["dataDirectory": "\(directory.path)"])
        } else if FileSystem.exists(directory.storeData) {
            do {
                environment = try openEnvironment(configuration)
            } catch let error as LMDBError where error.isInvalidEnvironment {
                logger.warning("LMDB store is invalid, restoring from a snapshot", metadata: ["error": "\(error)"])
            }
        }
        var snapshotProblems: [String] = []
        if environment == nil {
            try FileSystem.remove(directory.storeData)
            try FileSystem.remove(directory.storeLock)
            for info in try snapshots.list() {
                do {
                    try snapshots.verify(info)
                    try FileSystem.copy(info.path, to: directory.storeData, directory: directory.store)
                    source = .snapshot(zxid: info.zxid)
                    logger.info(
                        "restored snapshot", metadata: ["zxid": "\(info.zxid)", "snapshot.file": "\(info.path)"])
                    break
                } catch {
                    snapshotProblems.append("\(error)")
                    logger.warning("snapshot skipped", metadata: ["error": "\(error)"])
                }
            }
            if case .store = source { source = .empty }
            environment = try openEnvironment(configuration)
        }
        guard let environment else { throw StoreError.noRecoverableState("LMDB could not be opened") }
        try environment.checkReaders()
        let databases = try StoreDatabases(environment: environment)
        let applier = ChangeApplier(tree: ZNodeTree(db: databases), maxDataSize: configuration.maxDataSize)
        try initializeIfEmpty(environment, applier)
        let applied = try environment.read { try applier.appliedZxid($0) }

        var rules = format ?? .current
        var replay = ReplayBuffer(
            environment: environment, applier: applier, format: rules,
            systemNodesExist: applied >= rules.systemNodesAfter, maxMapSize: configuration.maxMapSize, logger: logger)
        let wal: WriteAheadLog
        do {
            wal = try WriteAheadLog(
                directory: directory.wal, segmentSize: configuration.walSegmentSize,
                directIO: configuration.walDirectIO, files: configuration.files, appliedZxid: applied,
                logger: logger, replay: { try replay.add($0) })
            try replay.flush()
        } catch let error as StoreError where !snapshotProblems.isEmpty {
            throw StoreError.noRecoverableState(
                "\(error); snapshots that did not verify: \(snapshotProblems.joined(separator: "; "))")
        }
        if format == nil || rules.isUpgrading {
            rules = rules.closed(at: wal.lastZxid)
            try rules.write(directory)
            if format != nil {
                logger.notice(
                    "data directory upgraded to format 3: sequential names count child creates only, and the tree has ZooKeeper's system nodes",
                    metadata: ["zxid": "\(wal.lastZxid)"])
            }
        }
        // Those the log's replay had no change after (or that an upgrade brings).
        if wal.lastZxid >= rules.systemNodesAfter {
            try environment.write { txn in
                let tree = TreeTransaction(applier.tree, txn)
                try tree.createSystemNodes()
                try tree.flush()
            }
        }
        let report = RecoveryReport(
            source: source, replayedChanges: replay.count, zxid: wal.lastZxid, duration: ContinuousClock.now - started)
        logger.info(
            "store open",
            metadata: [
                "dataDirectory": "\(directory.path)", "zxid": "\(report.zxid)", "recovery.source": "\(source)",
                "recovery.replayed": "\(report.replayedChanges)", "recovery.duration": "\(report.duration)",
            ])
        return try Store(
            configuration: configuration, recovery: report, environment: environment, applier: applier, wal: wal,
            snapshots: snapshots, lock: lock, logger: logger)
    }

    /// Deletes what a kill left of a snapshot being copied in as the store (`store/data.mdb.tmp`, never renamed over
    /// `data.mdb`, so never used).
    private static func removeInterruptedRestore(_ directory: DataDirectory, logger: Logger) throws {
        let temporary = directory.storeData + ".tmp"
        guard FileSystem.exists(temporary) else { return }
        let bytes = (try? FileSystem.size(temporary)) ?? 0
        try FileSystem.remove(temporary)
        logger.info(
            "removed the temporary copy of an interrupted restore",
            metadata: ["store.file": "\(temporary)", "store.bytes": "\(bytes)"])
    }

    /// Cairn opens LMDB without per-commit sync: the WAL fsync is the durability point, and LMDB is
    /// synced at checkpoints. MDB_NOTLS lets any thread run a read transaction.
    @available(*, noasync)
    static func openEnvironment(_ configuration: Configuration) throws -> Environment {
        let size = max(configuration.initialMapSize, (try? FileSystem.size(configuration.dataDirectory.storeData)) ?? 0)
        return try Environment(
            path: configuration.dataDirectory.store, flags: [.noThreadLocalStorage, .noSync, .noReadAhead],
            mapSize: size, maxDatabases: 16, maxReaders: 1024)
    }

    /// Creates the root node (zxid 0) in a new store.
    @available(*, noasync)
    static func initializeIfEmpty(_ environment: Environment, _ applier: ChangeApplier) throws {
        try environment.write { txn in
            guard try applier.tree.record(.root, txn) == nil else { return }
            let root = NodeRecord(
                parent: 0, name: "", stat: .created(zxid: 0, time: 0, owner: nil, dataLength: 0), kind: .persistent,
                data: [], acl: .open)
            try root.put(.root, in: applier.db.nodes, txn)
            try applier.setAppliedZxid(0, txn)
            try txn.put(applier.db.meta, key: MetaKey.format, value: withUnsafeBytes(of: UInt32(1)) { Array($0) })
        }
    }
}

/// Applies replayed WAL changes in transactions of up to 1,000 changes, growing the map when full.
private struct ReplayBuffer {
    let environment: Environment
    let applier: ChangeApplier
    let format: DataFormat
    /// Whether the tree has its system nodes yet (see `DataFormat.systemNodesAfter`).
    private var systemNodesExist: Bool
    let maxMapSize: Int
    let logger: Logger
    private var pending: [Change] = []
    private(set) var count = 0

    init(
        environment: Environment, applier: ChangeApplier, format: DataFormat, systemNodesExist: Bool, maxMapSize: Int,
        logger: Logger
    ) {
        self.environment = environment
        self.applier = applier
        self.format = format
        self.systemNodesExist = systemNodesExist
        self.maxMapSize = maxMapSize
        self.logger = logger
    }

    @available(*, noasync)
    mutating func add(_ change: Change) throws {
        pending.append(change)
        if pending.count >= 1000 { try flush() }
    }

    @available(*, noasync)
    mutating func flush() throws {
        guard !pending.isEmpty else { return }
        let changes = pending
        while true {
            do {
                // A retry (after the map grew) runs the batch again from the state before it.
                systemNodesExist = try environment.write { [systemNodesExist] txn in
                    var systemNodesExist = systemNodesExist
                    let tree = TreeTransaction(applier.tree, txn)
                    for change in changes {
                        if !systemNodesExist && format.hasSystemNodes(at: change.zxid) {
                            try tree.createSystemNodes()
                            systemNodesExist = true
                        }
                        tree.deletesAdvanceSequence = format.deletesAdvanceSequence(at: change.zxid)
                        do {
                            try applier.apply(change, tree)
                        } catch let error as CairnError {
                            throw StoreError.noRecoverableState(
                                "WAL change \(change.zxid) does not apply to the store (\(error)): the store and the log disagree"
                            )
                        }
                    }
                    try tree.flush()
                    return systemNodesExist
                }
                break
            } catch let error as LMDBError where error.isMapFull {
                try environment.growMap(limit: maxMapSize, logger: logger)
            }
        }
        count += changes.count
        pending = []
    }
}
