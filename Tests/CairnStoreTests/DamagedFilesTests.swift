import CairnCore
import CairnTesting
import Foundation
import Testing

@testable import CairnStore

@Suite("Damaged files: torn tails are cut, real damage stops the open with file and offset")
struct DamagedFilesTests {
    @Test("CRC-32C gives the standard check values, whole or in pieces")
    func checksum() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        let long = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var pieces = CRC32C()
        for piece in [long[..<3], long[3..<17], long[17...]] { pieces.update(Array(piece)) }
        #expect(pieces.value == CRC32C.checksum(long))
    }

    @Test("the table fallback and the processor's CRC-32C instruction agree, at every length and alignment")
    func checksumPaths() {
        let check = Array("123456789".utf8).withUnsafeBytes { ~CRC32C.tableUpdate(0xFFFF_FFFF, $0) }
        #expect(check == 0xE306_9283)
        let bytes = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }
        bytes.withUnsafeBytes { all in
            for start in 0..<9 {
                for end in stride(from: start, through: all.count, by: 7) {
                    let slice = UnsafeRawBufferPointer(rebasing: all[start..<end])
                    var crc = CRC32C()
                    crc.update(slice)
                    #expect(crc.value == ~CRC32C.tableUpdate(0xFFFF_FFFF, slice), "bytes \(start)..<\(end)")
                }
            }
        }
    }

    /// Offsets where each record of a segment starts, and where the last one ends (a live segment is
    /// preallocated: zeros follow).
    static func recordStarts(_ segment: String) throws -> (starts: [Int], size: Int) {
        let bytes = try FileSystem.readAll(segment)
        var starts: [Int] = []
        let end = bytes.withUnsafeBytes { raw in
            var offset = WALSegment.headerSize
            while offset < raw.count, case .record(_, _, let end) = WALRecord.parse(raw, at: offset) {
                starts.append(offset)
                offset = end
            }
            return offset
        }
        return (starts, end)
    }

    static func segments(_ data: DataDirectory) throws -> [String] {
        try FileSystem.list(data.wal).filter { $0.hasSuffix(".wal") }.map { data.wal + "/" + $0 }
    }

    /// A closed data dir holding `count` creates `/n<k>`, in one WAL segment.
    static func makeLog(count: Int) throws -> (TemporaryDirectory, DataDirectory, segment: String) {
        let f = try StoreFixture()
        for k in 0..<count { try f.create("/n\(k)", String(repeating: "d", count: 40 + k)) }
        f.store.close()
        let segment = try #require(try segments(f.data).last)
        let keep = TemporaryDirectory("cairn-log")
        // The records only, without the segment's preallocated zeros.
        let records = Array(try FileSystem.readAll(segment).prefix(try recordStarts(segment).size))
        try FileSystem.writeAtomically(records, to: keep.appending("segment.wal"), directory: keep.path)
        return (keep, f.data, keep.appending("segment.wal"))
    }

    /// A data dir with only `wal/` holding `bytes` as its one segment (zxid 1): replay starts from empty.
    static func openWithSegment(_ bytes: [UInt8]) throws -> (Store, String, TemporaryDirectory) {
        let dir = TemporaryDirectory("cairn-torn")
        let data = DataDirectory(dir.appending("data"))
        try data.create()
        let segment = WALSegment(firstZxid: 1, directory: data.wal).path
        try FileSystem.writeAtomically(bytes, to: segment, directory: data.wal)
        var configuration = Store.Configuration(dataDirectory: data.path)
        configuration.snapshotEveryChanges = 0
        return (try Store.open(configuration, logger: quietLogger), segment, dir)
    }

    @Test("cutting the last segment at every byte offset within its last records recovers to the last whole record")
    func tornTailAtEveryOffset() throws {
        let (keep, _, segment) = try Self.makeLog(count: 12)
        let whole = try FileSystem.readAll(segment)
        let (starts, size) = try Self.recordStarts(segment)
        #expect(starts.count == 12)
        for cut in starts[starts.count - 3]..<size {
            let (store, path, tmp) = try Self.openWithSegment(Array(whole.prefix(cut)))
            defer { withExtendedLifetime(tmp) {} }
            let wholeRecords = starts.filter { $0 < cut }.count - (starts.contains(cut) ? 0 : 1)
            #expect(store.recovery.zxid == Zxid(wholeRecords), "cut at \(cut)")
            #expect(
                try FileSystem.size(path) == (wholeRecords < starts.count ? starts[wholeRecords] : size),
                "the torn bytes are cut off")
            // The log takes new writes right after the cut, with the next zxid.
            let next = try store.commitBlocking(
                .operation(.create(path: "/after", data: [], kind: .persistent, sequential: false)))
            #expect(next.zxid == Zxid(wholeRecords) + 1)
            store.close()
        }
        _ = keep
    }

    @Test("a tail of zeros (a write the crash left as a hole) is cut like a short write")
    func zeroFilledTail() throws {
        let (keep, _, segment) = try Self.makeLog(count: 5)
        var bytes = try FileSystem.readAll(segment)
        let (starts, _) = try Self.recordStarts(segment)
        for i in starts[4]..<bytes.count { bytes[i] = 0 }
        bytes += [UInt8](repeating: 0, count: 4096)
        let (store, _, tmp) = try Self.openWithSegment(bytes)
        defer { withExtendedLifetime(tmp) {} }
        #expect(store.recovery.zxid == 4)
        store.close()
        _ = keep
    }

    @Test("a flipped byte in the middle of the log stops the open, naming file and offset and the repair")
    func corruptMiddle() throws {
        let (keep, _, segment) = try Self.makeLog(count: 8)
        var bytes = try FileSystem.readAll(segment)
        let (starts, _) = try Self.recordStarts(segment)
        bytes[starts[3] + WALRecord.headerSize + 2] ^= 0x40
        do {
            let (store, _, _) = try Self.openWithSegment(bytes)
            store.close()
            Issue.record("a damaged log opened")
        } catch let error as StoreError {
            guard case .corruptWAL(let file, let offset, _) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(file.hasSuffix("00000000000000000001.wal"))
            #expect(offset == starts[3])
            #expect(error.description.contains("byte offset \(starts[3])"))
            #expect(error.description.contains("cairnctl wal repair --data-dir"))
        }
        _ = keep
    }

    @Test("damage in an older segment stops the open even when the last segment is fine")
    func corruptOlderSegment() throws {
        let f = try StoreFixture { $0.walSegmentSize = 1024 }
        for k in 0..<60 { try f.create("/n\(k)", String(repeating: "x", count: 50)) }
        f.store.close()
        let segments = try Self.segments(f.data)
        #expect(segments.count > 2)
        var bytes = try FileSystem.readAll(segments[0])
        bytes[bytes.count - 3] ^= 0xFF
        try FileSystem.writeAtomically(bytes, to: segments[0], directory: f.data.wal)
        try FileSystem.remove(f.data.storeData)
        #expect(throws: StoreError.self) { try Store.open(f.configuration, logger: quietLogger) }
    }

    @Test("a damaged snapshot is reported by file and skipped for an older one that verifies")
    func damagedSnapshot() throws {
        let f = try StoreFixture { $0.snapshotsToKeep = 2 }
        try f.create("/a", "1")
        let older = try f.store.snapshot()
        try f.create("/b", "2")
        let newer = try f.store.snapshot()
        try f.create("/c", "3")
        let before = try f.tree()
        f.store.close()
        var bytes = try FileSystem.readAll(newer.path)
        bytes[bytes.count / 2] ^= 0x01
        try FileSystem.writeAtomically(bytes, to: newer.path, directory: f.data.snapshots)
        let snapshots = SnapshotStore(directory: f.data.snapshots, logger: quietLogger)
        #expect(throws: StoreError.self) { try snapshots.verify(newer) }
        do {
            try snapshots.verify(newer)
        } catch {
            #expect("\(error)".contains(newer.path) && "\(error)".contains("checksum"))
        }
        try FileSystem.remove(f.data.storeData)
        try f.reopen()
        #expect(f.store.recovery.source == .snapshot(zxid: older.zxid))
        #expect(try f.tree() == before)
    }

    @Test("a second process opening the same data dir is refused")
    func secondOpenRefused() throws {
        let f = try StoreFixture()
        do {
            let second = try Store.open(f.configuration, logger: quietLogger)
            second.close()
            Issue.record("a second open succeeded")
        } catch let error as StoreError {
            guard case .locked = error else {
                Issue.record("\(error)")
                return
            }
            #expect(error.description.contains("in use by another process"))
        }
    }
}
