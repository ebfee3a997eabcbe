import CairnCore
import CoreMetrics
import LMDB
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Takes snapshots when due (by change count or time), one at a time on a thread of its own, and
/// applies retention afterwards: keep the newest N snapshots and the WAL segments they need.
///
/// By count, a snapshot is due after `snapshotEveryChanges` changes *and* once the WAL has grown by half the
/// last snapshot's size since it: each snapshot copies the whole store, so a large store under heavy writes
/// would otherwise spend most of its disk and CPU copying itself (a 400 MB store every 100,000 creates).
///
/// The schedule starts from what the data directory records, not from the start of this process: a server
/// restarted more often than the interval (a crash loop) must still snapshot and prune its WAL.
final class SnapshotScheduler: Sendable {
    private struct Schedule {
        var changesSinceSnapshot: Int
        var walBytesSinceSnapshot: Int
        var lastSnapshotBytes: Int
        /// Monotonic milliseconds; before this process started (even negative) when the snapshot is older.
        var lastSnapshot: Int64
        var running = false
        var stopped = false
    }

    private let environment: Environment
    private let snapshots: SnapshotStore
    private let wal: WriteAheadLog
    private let everyChanges: Int
    private let everyMilliseconds: Int
    private let keep: Int
    private let maxMapSize: Int
    private let logger: Logger
    private let schedule: Mutex<Schedule>
    /// Held for the whole of a snapshot: snapshots never overlap.
    private let taking = Mutex(())
    private let duration: Timer

    /// Resumes the schedule of a store opened at `zxid`: the changes and WAL bytes since the newest snapshot are
    /// those after its zxid, and the interval runs from its manifest's `created`. With no snapshot, every change
    /// counts, and the interval runs from the time in the record of the first change the WAL holds, the oldest
    /// change no snapshot has. Not from a file's mtime: the segment being written is always new, so in a crash
    /// loop that clock would start again too. A time in the future (the clock was set back) counts as now.
    @available(*, noasync)
    init(
        environment: Environment, snapshots: SnapshotStore, wal: WriteAheadLog, zxid: Zxid,
        configuration: Store.Configuration, duration: Timer, logger: Logger
    ) throws {
        self.duration = duration
        self.environment = environment
        self.snapshots = snapshots
        self.wal = wal
        self.everyChanges = configuration.snapshotEveryChanges
        self.everyMilliseconds = configuration.snapshotEveryMilliseconds
        self.keep = configuration.snapshotsToKeep
        self.maxMapSize = configuration.maxMapSize
        self.logger = logger
        let newest = try snapshots.list().first
        let snapshotZxid = min(newest?.zxid ?? 0, zxid)
        let unsnapshotted = try wal.records(after: snapshotZxid)
        let wallNow = Int64(SystemClock.wallMilliseconds())
        let since = min(max(newest?.created ?? unsnapshotted.firstTime ?? wallNow, 0), wallNow)
        self.schedule = Mutex(
            Schedule(
                changesSinceSnapshot: Int(zxid - snapshotZxid), walBytesSinceSnapshot: unsnapshotted.bytes,
                lastSnapshotBytes: newest?.size ?? 0,
                lastSnapshot: Int64(SystemClock.monotonicMilliseconds()) - (wallNow - since)))
    }

    /// Counts committed changes and their WAL bytes (writer thread).
    func committed(_ changes: [Change]) {
        let bytes = changes.reduce(0) { $0 + WALRecord.headerSize + $1.payloadCount }
        schedule.withLock {
            $0.changesSinceSnapshot += changes.count
            $0.walBytesSinceSnapshot += bytes
        }
    }

    /// Starts a snapshot in the background when one is due (writer thread, after each batch and tick).
    func startIfDue() {
        let due = schedule.withLock { s -> Bool in
            guard !s.running, !s.stopped, s.changesSinceSnapshot > 0 else { return false }
            let byCount =
                everyChanges > 0 && s.changesSinceSnapshot >= everyChanges
                && s.walBytesSinceSnapshot * 2 >= s.lastSnapshotBytes
            let byTime =
                everyMilliseconds > 0
                && Int64(SystemClock.monotonicMilliseconds()) - s.lastSnapshot >= Int64(everyMilliseconds)
            if byCount || byTime { s.running = true }
            return byCount || byTime
        }
        guard due else { return }
        DedicatedThread.start { [self] in
            do {
                _ = try take()
            } catch {
                logger.error("scheduled snapshot failed", metadata: ["error": "\(error)"])
            }
            schedule.withLock { $0.running = false }
        }
    }

    /// Starts no more scheduled snapshots and waits for one in flight to finish.
    func stop() {
        schedule.withLock { $0.stopped = true }
        while schedule.withLock({ $0.running }) { usleep(1000) }
    }

    /// Checkpoints LMDB, writes a snapshot, then applies retention. Blocks until done.
    @available(*, noasync)
    func take() throws -> SnapshotInfo {
        let started = SystemClock.monotonicNanoseconds()
        defer { duration.recordNanoseconds(Int64(clamping: SystemClock.monotonicNanoseconds() - started)) }
        return try taking.withLock { _ in
            schedule.withLock {
                $0.changesSinceSnapshot = 0
                $0.walBytesSinceSnapshot = 0
                $0.lastSnapshot = Int64(SystemClock.monotonicMilliseconds())
            }
            // The checkpoint: most of its pages go out a window at a time first, so its fsync is short.
            WriteBehindFile.writeBack(fd: environment.dataFileDescriptor, length: environment.info.usedBytes)
            try environment.sync()
            try environment.ensureHeadroom(limit: maxMapSize, logger: logger)
            let info = try snapshots.take(environment)
            schedule.withLock { $0.lastSnapshotBytes = info.size }
            if let oldestKept = try snapshots.prune(keep: keep) { try wal.removeSegments(through: oldestKept) }
            return info
        }
    }
}
