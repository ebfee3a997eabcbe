import CairnCore
import Dispatch
import LMDB
import Logging
import Synchronization

/// Cairn's storage engine: the znode tree and sessions in LMDB, every change first a WAL record, group
/// commit, snapshots and retention, recovery on open. No networking.
///
/// The promise: a change whose completion reported success is on disk (its WAL record was fdatasync'd)
/// and survives SIGKILL, restarts and power loss; no partial change is ever visible to a reader.
public final class Store: Sendable {
    public let configuration: Configuration
    /// How this open recovered the state.
    public let recovery: RecoveryReport
    let environment: Environment
    let applier: ChangeApplier
    let wal: WriteAheadLog
    let snapshots: SnapshotStore
    private let scheduler: SnapshotScheduler
    private let writer: GroupCommitWriter
    private let lock: DataDirectoryLock
    private let observers = CommitObservers()
    private let closed = Mutex(false)
    let logger: Logger

    init(
        configuration: Configuration, recovery: RecoveryReport, environment: Environment, applier: ChangeApplier,
        wal: WriteAheadLog, snapshots: SnapshotStore, lock: DataDirectoryLock, logger: Logger
    ) throws {
        self.configuration = configuration
        self.recovery = recovery
        self.environment = environment
        self.applier = applier
        self.wal = wal
        self.snapshots = snapshots
        self.lock = lock
        self.logger = logger
        let observers = self.observers
        let metrics = StoreMetrics(factory: configuration.metrics)
        let scheduler = try SnapshotScheduler(
            environment: environment, snapshots: snapshots, wal: wal, zxid: recovery.zxid,
            configuration: configuration, duration: metrics.snapshot, logger: logger)
        self.scheduler = scheduler
        writer = GroupCommitWriter(
            environment: environment, applier: applier, wal: wal, lastZxid: recovery.zxid,
            configuration: .init(
                maxBatch: configuration.maxBatch, maxMapSize: configuration.maxMapSize, tickMilliseconds: 250),
            metrics: metrics, logger: logger,
            committed: { changes in
                scheduler.committed(changes)
                observers.notify(changes)
            },
            idle: { scheduler.startIfDue() })
    }

    /// Queues `request`, checked against the nodes' ACLs as `identity` asks it (the default, the server itself,
    /// passes every check); `completion` runs on the writer thread once it is durable and readable, or failed.
    public func submit(
        _ request: Request, session: SessionID? = nil, identity: Identity = .server,
        completion: @escaping CommitCompletion
    ) {
        writer.submit(.request(request, session: session, identity: identity, completion: completion))
    }

    /// Applies `request` and returns once it is durable (acked ⇒ fdatasync'd) and readable.
    public func commit(
        _ request: Request, session: SessionID? = nil, identity: Identity = .server
    ) async throws(CairnError) -> Committed {
        let result = await withCheckedContinuation { continuation in
            submit(request, session: session, identity: identity) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    /// `commit` for threads that may block (tools, benchmarks, tests).
    @available(*, noasync)
    public func commitBlocking(
        _ request: Request, session: SessionID? = nil, identity: Identity = .server
    ) throws(CairnError) -> Committed {
        let done = DispatchSemaphore(value: 0)
        let outcome = Mutex<Result<Committed, CairnError>?>(nil)
        submit(request, session: session, identity: identity) { result in
            outcome.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        return try outcome.withLock { $0! }.get()
    }

    /// Registers `observer`, called on the writer thread with each batch's changes in zxid order, before
    /// any of that batch's completions (so watch events can be queued ahead of the replies).
    public func observeCommits(_ observer: @escaping @Sendable ([Change]) -> Void) {
        observers.add(observer)
    }

    /// Runs `body` in a consistent read view; never waits for the writer.
    @available(*, noasync)
    public func read<T>(_ body: (borrowing StoreView) throws -> T) throws -> T {
        try environment.read { txn in try body(StoreView(txn: txn, applier: applier)) }
    }

    /// Durable changes after `zxid` from the retained WAL (oldest first, at most `limit`); throws
    /// `CairnError.compacted` when retention already dropped some of them.
    public func history(after zxid: Zxid, limit: Int = .max) throws -> [Change] {
        try wal.changes(after: zxid, limit: limit)
    }

    /// The oldest zxid history can still start from.
    public var oldestHistoryZxid: Zxid { wal.oldestZxid }

    /// Bytes held by the retained WAL segments.
    public var walBytes: Int { wal.totalBytes }

    /// The figures of the store's files now.
    public var figures: StoreFigures {
        let map = environment.info
        return StoreFigures(
            walBytes: wal.totalBytes, walSegments: wal.segmentCount, mapBytes: map.mapSize, usedBytes: map.usedBytes)
    }

    /// Batches, changes and fsync time since the store opened.
    public var writerStatistics: WriterStatistics { writer.statistics }

    /// Takes a snapshot now (checkpointing LMDB first) and applies retention. Blocks until done.
    @available(*, noasync)
    public func snapshot() throws -> SnapshotInfo { try scheduler.take() }

    /// Snapshots on disk, newest first.
    public func listSnapshots() throws -> [SnapshotInfo] { try snapshots.list() }

    /// Persists sessions' deadlines and grace flags (bookkeeping, not changes: no zxid, no WAL record).
    public func recordSessionTimes(_ times: [SessionTimes]) async throws(CairnError) {
        let error: CairnError? = await withCheckedContinuation { continuation in
            recordSessionTimes(times) { continuation.resume(returning: $0) }
        }
        if let error { throw error }
    }

    /// `recordSessionTimes`, calling `completion` on the writer thread once written.
    public func recordSessionTimes(_ times: [SessionTimes], completion: @escaping @Sendable (CairnError?) -> Void) {
        let applier = self.applier
        writer.submit(
            .maintenance(
                { txn in
                    for time in times {
                        guard var record = try applier.session(time.id, txn) else { continue }
                        record.deadline = time.deadline
                        record.graceGranted = time.graceGranted
                        try txn.put(applier.db.sessions, key: SessionRecord.key(time.id), value: record.encoded())
                    }
                }, completion: completion))
    }

    /// Finishes queued writes, syncs LMDB, marks the shutdown clean and releases the data directory.
    @available(*, noasync)
    public func close() {
        guard
            closed.withLock({ was in
                defer { was = true }
                return !was
            })
        else { return }
        writer.stop()
        scheduler.stop()
        do {
            try environment.sync()
            lock.release(clean: true)
        } catch {
            logger.error("final LMDB sync failed; the next start replays the WAL", metadata: ["error": "\(error)"])
            lock.release(clean: false)
        }
    }
}

/// A session's persisted timing, as `Store.recordSessionTimes` takes it.
public struct SessionTimes: Sendable, Hashable {
    public var id: SessionID
    public var deadline: Int64
    public var graceGranted: Bool

    public init(id: SessionID, deadline: Int64, graceGranted: Bool) {
        self.id = id
        self.deadline = deadline
        self.graceGranted = graceGranted
    }
}
