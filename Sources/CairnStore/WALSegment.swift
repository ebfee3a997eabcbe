import CairnCore

/// A WAL segment file: `<first zxid, 20 digits>.wal` in `<data-dir>/wal/`, starting with a 16-byte header
/// (`CAIRNWAL`, format u32 = 1, reserved u32) followed by records in zxid order.
struct WALSegment: Hashable, Sendable, Comparable {
    static let fileExtension = ".wal"
    static let magic = Array("CAIRNWAL".utf8)
    static let formatVersion: UInt32 = 1
    static let headerSize = 16

    /// The zxid of the first record the segment holds (or will hold).
    let firstZxid: Zxid
    let path: String
    /// The WAL directory the segment is in.
    let directory: String

    init(firstZxid: Zxid, directory: String) {
        self.firstZxid = firstZxid
        self.directory = directory
        self.path = directory + "/" + Self.fileName(firstZxid: firstZxid)
    }

    static func fileName(firstZxid: Zxid) -> String {
        let digits = String(firstZxid)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + fileExtension
    }

    /// The first zxid encoded in a segment's file name, or nil when the name is not a segment's.
    static func firstZxid(fileName: String) -> Zxid? {
        guard fileName.hasSuffix(fileExtension) else { return nil }
        let stem = fileName.dropLast(fileExtension.count)
        guard stem.count == 20, stem.allSatisfy(\.isASCII) else { return nil }
        return Zxid(stem)
    }

    static var header: [UInt8] {
        var w = ByteWriter(capacity: headerSize)
        w.bytes.append(contentsOf: magic)
        w.write(formatVersion)
        w.write(UInt32(0))
        return w.bytes
    }

    /// The segments in `directory`, oldest first.
    static func list(in directory: String) throws -> [WALSegment] {
        try FileSystem.list(directory).compactMap { name in
            firstZxid(fileName: name).map { WALSegment(firstZxid: $0, directory: directory) }
        }.sorted()
    }

    static func < (lhs: WALSegment, rhs: WALSegment) -> Bool { lhs.firstZxid < rhs.firstZxid }
}

#if canImport(Glibc)
import Glibc
#endif

extension WALSegment {
    /// Where the written bytes of a segment (read whole into `bytes`) end: past its last non-zero byte; what
    /// follows is preallocated room.
    static func dataEnd(_ bytes: [UInt8]) -> Int { (bytes.lastIndex { $0 != 0 } ?? -1) + 1 }

    /// Cuts the segment, read whole into `bytes`, at `offset`, durably. The bytes cut (but the zeros at their end)
    /// are first kept in `sideFile`, when one is given; a segment cut at 0 gets its header again.
    func cut(_ bytes: [UInt8], at offset: Int, keepingIn sideFile: String?) throws {
        if let sideFile {
            let kept = Array(bytes[offset..<max(offset, Self.dataEnd(bytes))])
            try FileSystem.writeAtomically(kept, to: sideFile, directory: directory)
        }
        let fd = try FileSystem.open(path, flags: O_WRONLY)
        defer { close(fd) }
        try FileSystem.truncate(fd: fd, to: offset, path: path)
        if offset == 0 {
            try Self.header.withUnsafeBytes { try FileSystem.write(fd: fd, $0, at: 0, path: path) }
        }
        try FileSystem.sync(fd: fd, path: path)
    }
}
