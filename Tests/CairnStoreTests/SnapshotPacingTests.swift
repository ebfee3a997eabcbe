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
                if n < 0 { if errno == EINTR { continue }; throw PipeClosed() }
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

    @Test("when the file cannot be written, the copy fails with that error and its producer stops (no hang, no SIGPIPE)")
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
