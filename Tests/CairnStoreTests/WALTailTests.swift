import CairnCore
import CairnTesting
import Foundation
import Testing

@testable import CairnStore

@Suite("WAL tail: appends in place, with direct I/O or through the page cache")
struct WALTailTests {
    @Test(
        "appends land byte for byte across block boundaries, also after a reopen in mid-block; only zeros follow",
        arguments: [true, false])
    func appendsInPlace(directIO: Bool) throws {
        let label = directIO ? "direct I/O" : "page cache"
        let directory = TemporaryDirectory("wal-tail")
        let path = directory.appending("segment")
        var generator = SplitMix64(seed: 7)
        let header = Array("CAIRNWAL-header!".utf8)
        var expected = header
        func chunk(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next() | 1) } }

        let tail = try WALTail(creating: path, header: header, directIO: directIO)
        if !directIO { #expect(!tail.isDirect) }
        for (index, count) in [1, 100, 4095 - 117, 1, 4096, 4097, 10_000, 70_000, 3, 0, 8192].enumerated() {
            let bytes = chunk(count)
            try bytes.withUnsafeBytes { try tail.append($0) }
            expected += bytes
            #expect(tail.end == expected.count)
            if index % 3 == 0 { try tail.sync() }
        }
        try tail.sync()
        let onDisk = try FileSystem.readAll(path)
        #expect(
            Self.firstDifference(onDisk.prefix(expected.count), expected) == nil,
            "\(label): the file holds every byte appended")
        #expect(onDisk.dropFirst(expected.count).allSatisfy { $0 == 0 }, "\(label): the reserved room is zeros")
        #expect(onDisk.count > expected.count, "\(label): room is reserved ahead of the appends")

        // Reopened with its end inside a block: the block's first bytes are kept and the next appends follow.
        #expect(expected.count % WALTail.blockSize != 0)
        let reopened = try WALTail(opening: path, end: expected.count, directIO: directIO)
        for count in [5, 4096 * 3 + 1, 77] {
            let bytes = chunk(count)
            try bytes.withUnsafeBytes { try reopened.append($0) }
            expected += bytes
        }
        try reopened.finish()
        #expect(
            Self.firstDifference(try FileSystem.readAll(path)[...], expected) == nil,
            "\(label): a finished segment holds every byte appended and nothing after")
    }

    /// The first offset where the two differ, or where the shorter ends (nil when equal), so a failure names
    /// a place instead of printing megabytes.
    static func firstDifference(_ a: ArraySlice<UInt8>, _ b: [UInt8]) -> Int? {
        zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            ?? (a.count == b.count ? nil : min(a.count, b.count))
    }
}
