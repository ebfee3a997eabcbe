import CairnCore
import CoreMetrics
import Dispatch
import LMDB
import Logging
import Synchronization

/// Called on the writer thread with a request's outcome, after its change is durable and readable.
public typealias CommitCompletion = @Sendable (Result<Committed, CairnError>) -> Void

/// The one writer: drains everything queued, applies it in one LMDB write transaction, appends one WAL
/// record per change, fdatasyncs the WAL once, commits LMDB, then completes the requests in order.
///
/// Invariants: acked ⇒ its WAL record was fdatasync'd; the LMDB commit that makes it readable comes after
/// the fsync; the applied zxid is stored in the same LMDB transaction as the data; zxids are dense; the WAL
/// holds the records of committed batches only (a failed batch's are cut off, so no zxid is logged twice).
///
/// `@unchecked Sendable`: `lastZxid` and the environment's write side are touched only by the writer
/// thread; other threads reach the writer only through `jobs`, a `Mutex`.
final class GroupCommitWriter: @unchecked Sendable {
    enum Job {
        /// `identity` is the caller the store checks the nodes' ACLs against.
        case request(Request, session: SessionID?, identity: Identity, completion: CommitCompletion)
        /// LMDB-only bookkeeping that is not a change and gets no zxid (session deadlines).
        case maintenance(@Sendable (Transaction) throws -> Void, completion: @Sendable (CairnError?) -> Void)
    }

    private struct Queue {
        var jobs: [Job] = []
        var stopping = false
        /// Set once an fsync fails: the log's state is unknown, so no further write is taken.
        var failure: String?
    }

    struct Configuration: Sendable {
        var maxBatch: Int
        var maxMapSize: Int
        /// How often the writer wakes up with nothing queued, to run `idle`.
        var tickMilliseconds: Int
    }

    private let environment: Environment
    private let applier: ChangeApplier
    private let wal: WriteAheadLog
    private let configuration: Configuration
    private let logger: Logger
    private let queue = Mutex(Queue())
    private let wakeup = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    /// Hooks, run on the writer thread: `committed` with each batch's changes in zxid order (before any
    /// completion of that batch), `idle` after each batch and each tick.
    private let committed: @Sendable ([Change]) -> Void
    private let idle: @Sendable () -> Void
    private var lastZxid: Zxid
    private let counters = Mutex(WriterStatistics())
    private let metrics: StoreMetrics

    /// Batches, changes and fsync time so far.
    var statistics: WriterStatistics { counters.withLock { $0 } }

    init(
        environment: Environment, applier: ChangeApplier, wal: WriteAheadLog, lastZxid: Zxid,
        configuration: Configuration, metrics: StoreMetrics, logger: Logger,
        committed: @escaping @Sendable ([Change]) -> Void, idle: @escaping @Sendable () -> Void
    ) {
        self.metrics = metrics
        self.environment = environment
        self.applier = applier
        self.wal = wal
        self.lastZxid = lastZxid
        self.configuration = configuration
        self.logger = logger
        self.committed = committed
        self.idle = idle
        DedicatedThread.start { [self] in run() }
    }

    func submit(_ job: Job) {
        // Only the first job of a burst wakes the writer: it takes everything queued until the queue is
        // empty, so a job appended to a non-empty queue is always taken by the loop already running.
        let outcome: (refusal: String?, wake: Bool) = queue.withLock { queue in
            if let failure = queue.failure { return (failure, false) }
            if queue.stopping { return ("the store is shutting down", false) }
            queue.jobs.append(job)
            return (nil, queue.jobs.count == 1)
        }
        if let refusal = outcome.refusal {
            fail(job, with: .unavailable(refusal))
        } else if outcome.wake {
            wakeup.signal()
        }
    }

    /// Finishes everything queued, then stops the thread. Later submissions fail with `unavailable`.
    func stop() {
        queue.withLock { $0.stopping = true }
        wakeup.signal()
        finished.wait()
    }

    private func run() {
        while true {
            _ = wakeup.wait(timeout: .now() + .milliseconds(configuration.tickMilliseconds))
            while true {
                let jobs: [Job] = queue.withLock { queue in
                    guard queue.jobs.count > configuration.maxBatch else {
                        defer { queue.jobs = [] }
                        return queue.jobs
                    }
                    defer { queue.jobs.removeFirst(configuration.maxBatch) }
                    return Array(queue.jobs.prefix(configuration.maxBatch))
                }
                if jobs.isEmpty { break }
                process(jobs)
            }
            idle()
            if queue.withLock({ $0.stopping && $0.jobs.isEmpty }) {
                finished.signal()
                return
            }
        }
    }

    private struct BatchResult {
        var outcomes: [Result<Committed, CairnError>] = []
        var changes: [Change] = []
    }

    private func process(_ jobs: [Job]) {
        let time = Int64(SystemClock.wallMilliseconds())
        var result = BatchResult()
        do {
            result = try commitGrowingMap(jobs, time: time)
        } catch {
            let reason = (error as? CairnError) ?? .unavailable("\(error)")
            logger.error("write batch failed", metadata: ["error": "\(error)", "batch.size": "\(jobs.count)"])
            counters.withLock { $0.lastFailure = reason.description }
            for job in jobs { fail(job, with: reason) }
            return
        }
        counters.withLock { $0.lastFailure = nil }
        if !result.changes.isEmpty { committed(result.changes) }
        for (job, outcome) in zip(jobs, result.outcomes) {
            switch job {
            case .request(_, _, _, let completion): completion(outcome)
            case .maintenance(_, let completion): completion(nil)
            }
        }
    }

    /// Commits the batch, growing the map and retrying on MDB_MAP_FULL up to the configured limit.
    private func commitGrowingMap(_ jobs: [Job], time: Int64) throws -> BatchResult {
        while true {
            do {
                return try commit(jobs, time: time)
            } catch {
                try handle(error)
            }
        }
    }

    /// Grows the map on MDB_MAP_FULL (no transaction is open here); rethrows anything else as the
    /// batch's failure.
    private func handle(_ error: any Error) throws {
        guard let lmdb = error as? LMDBError, lmdb.isMapFull else {
            if let lmdb = error as? LMDBError, lmdb.isDiskFull { throw CairnError.unavailable("the disk is full") }
            throw error
        }
        try environment.growMap(limit: configuration.maxMapSize, logger: logger)
    }

    /// Cuts a failed batch's records off the WAL (they were never applied nor acknowledged), or, when even
    /// that fails, stops taking writes: the log's end is then unknown and only a restart settles it.
    private func discardAppended(after error: any Error) throws {
        do {
            try wal.discardUnpublished()
        } catch let cutError {
            let message =
                "a failed write's WAL records could not be cut off (\(cutError)); restart the server to recover"
            queue.withLock { $0.failure = message }
            logger.critical("the store stops taking writes", metadata: ["error": "\(cutError)", "cause": "\(error)"])
            throw CairnError.unavailable(message)
        }
    }

    private func commit(_ jobs: [Job], time: Int64) throws -> BatchResult {
        var result = BatchResult()
        var appended = false
        do {
            try environment.write { txn in
                let tree = TreeTransaction(applier.tree, txn)
                var zxid = lastZxid
                var frames = ByteWriter(capacity: 64 << 10)
                for job in jobs {
                    switch job {
                    case .request(let request, let session, let identity, _):
                        let next = zxid + 1
                        do {
                            // A nested transaction costs a copy of LMDB's dirty-page list: only a multi needs one.
                            let (effects, results) =
                                ChangeApplier.needsNestedTransaction(request)
                                ? try tree.nested { child in
                                    try applier.execute(
                                        request, session: session, identity: identity, zxid: next, time: time, child)
                                }
                                : try applier.execute(
                                    request, session: session, identity: identity, zxid: next, time: time, tree)
                            let notificationACLs = tree.takeNotificationACLs()
                            guard !effects.isEmpty else {
                                result.outcomes.append(.success(Committed(zxid: zxid, results: results, change: nil)))
                                continue
                            }
                            zxid = next
                            let change = Change(
                                zxid: zxid, time: time, session: session, effects: effects,
                                notificationACLs: notificationACLs)
                            WALRecord.append(change, to: &frames)
                            result.changes.append(change)
                            result.outcomes.append(.success(Committed(zxid: zxid, results: results, change: change)))
                        } catch let error as CairnError {
                            result.outcomes.append(.failure(error))
                        }
                    case .maintenance(let body, _):
                        try body(txn)
                        result.outcomes.append(.success(Committed(zxid: zxid, results: [], change: nil)))
                    }
                }
                try tree.flush()
                guard zxid > lastZxid else { return }
                try applier.setAppliedZxid(zxid, txn)
                appended = true
                try wal.append(frames.bytes, lastZxid: zxid)
                let syncStart = SystemClock.monotonicNanoseconds()
                do {
                    try wal.sync()  // ◀ the durability point
                } catch {
                    let message = "fdatasync of the WAL failed (\(error)); restart the server to recover"
                    queue.withLock { $0.failure = message }
                    logger.critical("the store stops taking writes", metadata: ["error": "\(error)"])
                    throw CairnError.unavailable(message)
                }
                let syncNanoseconds = SystemClock.monotonicNanoseconds() - syncStart
                metrics.fsync.recordNanoseconds(Int64(clamping: syncNanoseconds))
                metrics.batchChanges.record(result.changes.count)
                counters.withLock {
                    $0.batches += 1
                    $0.changes += result.changes.count
                    $0.fsyncNanoseconds += syncNanoseconds
                }
            }
        } catch {
            // Nothing of the batch is applied (its LMDB transaction aborted) or acknowledged: its records go too.
            if appended { try discardAppended(after: error) }
            throw error
        }
        if appended { wal.publish() }
        lastZxid = result.changes.last?.zxid ?? lastZxid
        return result
    }

    private func fail(_ job: Job, with error: CairnError) {
        switch job {
        case .request(_, _, _, let completion): completion(.failure(error))
        case .maintenance(_, let completion): completion(error)
        }
    }
}

/// What the writer has done since the store opened.
public struct WriterStatistics: Sendable, Hashable {
    /// Batches that wrote WAL records (one fdatasync each).
    public var batches = 0
    /// Changes made durable.
    public var changes = 0
    /// Time spent in the WAL's fdatasync.
    public var fsyncNanoseconds: UInt64 = 0
    /// Why the last batch failed as a whole (a full disk, say); nil once a batch succeeds again.
    public var lastFailure: String?
}
