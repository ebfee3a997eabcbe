import CairnCore
import CairnTesting
import Foundation
import Testing

@testable import CairnStore

/// Snapshots under heavy writes: how often they come, and what they must not hold up.
@Suite("Snapshot pacing: the schedule, the map's headroom, the copy written behind")
struct SnapshotPacingTests {
    static let data = String(repeating: "x", count: 2048)

    struct PipeClosed: Error {}

    /// What LMDB does with the pipe it is given: `write` until all is written.
    static func writeAll(_ bytes: [UInt8], to pipe: Int32) throws {
        try bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = write(pipe, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw PipeClosed()
                }
                done += n
            }
        }
    }

    @Test("by count, a snapshot also waits until the WAL has grown by half the last one's size, across a reopen")
    func sizeAwareSchedule() throws {
        let f = try StoreFixture()  // no snapshot by count while it fills
        for k in 0..<300 { try f.create("/big\(k)", Self.data) }
        let first = try f.store.snapshot()
        f.configuration.snapshotEveryChanges = 10
        try f.reopen()  // the size of the last snapshot is read back from the data directory
        // Well past the change count, far below half the snapshot's size in WAL bytes.
        for k in 0..<40 { try f.create("/small\(k)") }
        usleep(1_500_000)  // six of the writer's idle ticks, each a chance to start one
        #expect(try f.store.listSnapshots().map(\.zxid) == [first.zxid])
        // Now more than half of it.
        var written = 0
        var k = 0
        while written * 2 < first.size * 5 / 4 {
            try f.create("/more\(k)", Self.data)
            written += Self.data.utf8.count + 64
            k += 1
        }
        var snapshots: [SnapshotInfo] = []
        for _ in 0..<500 where snapshots.count < 2 {
            usleep(20_000)
            snapshots = try f.store.listSnapshots()
        }
        #expect(snapshots.count == 2 && snapshots[0].zxid > first.zxid)
    }

    /// The snapshots of `f`'s store once it has `count` of them, or what it has after five seconds.
    static func snapshots(of f: StoreFixture, awaiting count: Int) throws -> [SnapshotInfo] {
        var snapshots = try f.store.listSnapshots()
        for _ in 0..<250 where snapshots.count < count {
            usleep(20_000)
            snapshots = try f.store.listSnapshots()
        }
        return snapshots
    }

    @Test("by count, changes committed before a restart count towards the next snapshot")
    func countSurvivesRestart() throws {
        let f = try StoreFixture { $0.snapshotEveryChanges = 30 }
        for k in 0..<20 { try f.create("/before\(k)") }
        try f.reopen()  // a restart (clean or killed, the data directory says the same)
        #expect(try f.store.listSnapshots().isEmpty)
        for k in 0..<15 { try f.create("/after\(k)") }  // 35 changes, 15 of them since the start
        #expect(try Self.snapshots(of: f, awaiting: 1).count == 1)
    }

    @Test("by count, the changes and WAL bytes since the last snapshot are counted from it, not from the last start")
    func countAndBytesFromTheLastSnapshot() throws {
        let f = try StoreFixture()
        let first = try f.store.snapshot()
        f.configuration.snapshotEveryChanges = 40
        try f.reopen()
        // Fewer changes than the schedule asks for, but more than half the snapshot's size in WAL bytes.
        for k in 0..<30 { try f.create("/big\(k)", Self.data) }
        try #require(30 * Self.data.utf8.count * 2 >= first.size)
        try f.reopen()
        // 45 changes since the snapshot; these 15 alone are far below half its size.
        for k in 0..<15 { try f.create("/small\(k)") }
        let snapshots = try Self.snapshots(of: f, awaiting: 2)
        #expect(snapshots.count == 2 && snapshots[0].zxid > first.zxid)
    }

    @Test("the WAL's bytes after a zxid are the frames of the changes after it, from mid-segment and across rolls")
    func walBytesAfterZxid() throws {
        let f = try StoreFixture()
        for k in 0..<200 { try f.create("/n\(k)", String(repeating: "d", count: 100 * (k % 20))) }
        f.store.close()
        try f.reopen()  // the last segment is read back, preallocated zeros and all
        let wal = f.store.wal
        #expect(try WALSegment.list(in: f.data.wal).count > 2)
        for zxid: Zxid in [0, 1, 37, 64, 99, 150, 199, 200] {
            let changes = try f.store.history(after: zxid)
            let records = try wal.records(after: zxid)
            #expect(records.bytes == changes.reduce(0) { $0 + WALRecord.headerSize + $1.payloadCount })
            #expect(records.firstTime == changes.first?.time)
        }
    }

    @Test("by time, the interval runs from the last snapshot's time, not from the last start")
    func timeFromTheLastSnapshot() throws {
        let f = try StoreFixture()
        try f.create("/a")
        var first = try f.store.snapshot()
        try f.create("/b")
        f.store.close()
        // The snapshot was taken an hour ago, by a run since killed, restarted, killed again...
        first.created -= 3_600_000
        let snapshots = SnapshotStore(directory: f.data.snapshots, logger: quietLogger)
        try FileSystem.writeAtomically(
            Array(first.manifest.utf8), to: snapshots.manifestPath(first.zxid), directory: f.data.snapshots)
        f.configuration.snapshotEveryMilliseconds = 60_000
        try f.reopen()
        let taken = try Self.snapshots(of: f, awaiting: 2)
        #expect(taken.count == 2 && taken[0].zxid > first.zxid)
    }

    @Test("by time, with no snapshot yet, the interval runs from the first change the WAL holds")
    func timeFromTheFirstChange() throws {
        let f = try StoreFixture()
        f.store.close()
        // A log whose one change was made an hour ago, by a run killed before its first snapshot.
        let hourAgo = Int64(SystemClock.wallMilliseconds()) - 3_600_000
        let change = Change(
            zxid: 1, time: hourAgo, session: nil,
            effects: [.createNode(path: path("/early"), data: [], kind: .persistent, owner: nil)])
        var segment = ByteWriter()
        segment.bytes = WALSegment.header
        WALRecord.append(change, to: &segment)
        try FileSystem.writeAtomically(
            segment.bytes, to: WALSegment(firstZxid: 1, directory: f.data.wal).path, directory: f.data.wal)
        f.configuration.snapshotEveryMilliseconds = 60_000
        try f.reopen()
        #expect(try f.node("/early") != nil)
        #expect(try Self.snapshots(of: f, awaiting: 1).map(\.zxid) == [1])
    }

    @Test("a snapshot first grows the map until the store fills at most half of it, so the copy never holds up growth")
    func headroomBeforeTheCopy() throws {
        let f = try StoreFixture()  // a 1 MiB map to start with
        for k in 0..<400 { try f.create("/n\(k)", Self.data) }
        let environment = f.store.environment
        #expect(environment.info.usedBytes * 2 > 1 << 20, "the store must have outgrown half the initial map")
        _ = try f.store.snapshot()
        #expect(environment.info.usedBytes * 2 <= environment.info.mapSize)
    }

    @Test("a piped copy arrives whole, with the checksum of its bytes, across many write-behind windows")
    func pipedCopy() throws {
        let directory = TemporaryDirectory("cairn-write-behind")
        let path = directory.appending("copy")
        let fd = try FileSystem.open(path, flags: O_WRONLY | O_CREAT | O_TRUNC)
        defer { close(fd) }
        let pattern = (0..<(5 << 20 + 123)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 11) }
        var file = WriteBehindFile(fd: fd, path: path, window: 256 << 10)
        try file.appendAll { pipe in
            try Self.writeAll(pattern, to: pipe)
        }
        try file.sync()
        #expect(try FileSystem.readAll(path) == pattern)
        var crc = CRC32C()
        pattern.withUnsafeBytes { crc.update($0) }
        #expect(file.size == pattern.count && file.checksum.value == crc.value)
    }

    @Test(
        "when the file cannot be written, the copy fails with that error and its producer stops (no hang, no SIGPIPE)")
    func failedCopyStopsTheProducer() throws {
        let directory = TemporaryDirectory("cairn-write-behind")
        let path = directory.appending("read-only")
        try FileSystem.writeAtomically([], to: path, directory: directory.path)
        let fd = try FileSystem.open(path, flags: O_RDONLY)  // every write to it fails
        defer { close(fd) }
        var file = WriteBehindFile(fd: fd, path: path)
        let chunk = [UInt8](repeating: 7, count: 1 << 20)
        #expect(throws: StoreError.self) {
            try file.appendAll { pipe in
                // Far more than a pipe holds: this only returns once the reader has gone.
                for _ in 0..<64 { try Self.writeAll(chunk, to: pipe) }
            }
        }
    }
}
