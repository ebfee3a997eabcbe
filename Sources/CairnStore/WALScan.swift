import CairnCore
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Reads WAL segments in order at open: checks frames, checksums and zxid continuity, hands changes after
/// the applied zxid to the replay, and cuts a torn tail off the last segment.
///
/// The last segment is preallocated, so zeros after its last record are its unused room: the log ends
/// there, and nothing is cut. Torn tail (cut and logged): in the last segment only, a frame that ends past
/// the end of the file, or a checksum mismatch in a frame holding a zero-filled 512-byte sector, with
/// nothing but zeros after it (a write the crash interrupted). Anything else is damage: the open stops
/// with the file and byte offset.
struct WALScan {
    static let sectorSize = 512

    let appliedZxid: Zxid
    let logger: Logger
    /// false: report a torn tail in `tornTail` but leave the file as it is (inspection tools).
    let cutsTornTail: Bool
    /// A torn tail found in the last segment: where it starts and how many bytes it holds.
    private(set) var tornTail: (file: String, offset: Int, bytes: Int)?
    /// The zxid of the last whole record seen so far.
    private(set) var lastZxid: Zxid = 0
    /// Where the valid bytes of the last segment end (after any cut).
    private(set) var lastSegmentEnd = WALSegment.headerSize
    private var started = false
    /// The last segment read ended in zeros (its unused preallocated space).
    private var endsInZeros = false

    init(appliedZxid: Zxid, logger: Logger, cutsTornTail: Bool = true) {
        self.appliedZxid = appliedZxid
        self.logger = logger
        self.cutsTornTail = cutsTornTail
    }

    mutating func read(_ segment: WALSegment, isLast: Bool, replay: (Change) throws -> Void) throws {
        if !started {
            started = true
            guard segment.firstZxid <= appliedZxid + 1 else {
                throw StoreError.walMissing(
                    "the store has applied zxid \(appliedZxid) but the oldest WAL segment starts at "
                        + "\(segment.firstZxid) (\(segment.path)); the records in between are gone")
            }
            lastZxid = segment.firstZxid - 1
        } else if segment.firstZxid != lastZxid + 1 {
            throw StoreError.walGap(file: segment.path, offset: 0, expected: lastZxid + 1, found: segment.firstZxid)
        }
        let bytes = try FileSystem.readAll(segment.path)
        endsInZeros = false
        let end = try bytes.withUnsafeBytes { raw in try scan(raw, segment: segment, isLast: isLast, replay: replay) }
        if isLast {
            lastSegmentEnd = end
            // Zeros after the last record are the segment's preallocated room, not damage.
            if end != bytes.count && !endsInZeros {
                tornTail = (segment.path, end, bytes.count - end)
                if cutsTornTail {
                    try cut(segment, at: end, from: bytes.count, header: end == WALSegment.headerSize && !hasHeader(bytes))
                }
            }
        }
    }

    private func hasHeader(_ bytes: [UInt8]) -> Bool {
        bytes.count >= WALSegment.headerSize && Array(bytes.prefix(WALSegment.headerSize)) == WALSegment.header
    }

    /// Returns the end of the last whole record.
    private mutating func scan(
        _ raw: UnsafeRawBufferPointer, segment: WALSegment, isLast: Bool, replay: (Change) throws -> Void
    ) throws -> Int {
        let header = WALSegment.header
        guard raw.count >= header.count, raw.prefix(header.count).elementsEqual(header) else {
            if isLast && (raw.count < header.count || raw.allSatisfy({ $0 == 0 })) { return WALSegment.headerSize }
            throw StoreError.corruptWAL(file: segment.path, offset: 0, reason: "not a Cairn WAL segment (bad header)")
        }
        var offset = header.count
        while offset < raw.count {
            switch WALRecord.parse(raw, at: offset) {
            case .record(let zxid, let payload, let end):
                guard zxid == lastZxid + 1 else {
                    throw StoreError.walGap(file: segment.path, offset: offset, expected: lastZxid + 1, found: zxid)
                }
                if zxid > appliedZxid {
                    let change: Change
                    do {
                        change = try Change(zxid: zxid, payload: payload)
                    } catch {
                        throw StoreError.corruptWAL(file: segment.path, offset: offset, reason: "undecodable record: \(error)")
                    }
                    try replay(change)
                }
                lastZxid = zxid
                offset = end
            case .zeros, .truncated:
                guard isLast else {
                    throw StoreError.corruptWAL(file: segment.path, offset: offset, reason: "the segment ends inside a record")
                }
                if case .zeros = WALRecord.parse(raw, at: offset) { endsInZeros = true }
                return offset
            case .damaged(let reason):
                guard isLast, Self.isTorn(raw, at: offset) else {
                    throw StoreError.corruptWAL(file: segment.path, offset: offset, reason: reason)
                }
                return offset
            }
        }
        return offset
    }

    /// A damaged frame at `offset` is a torn write when one of the sectors it covers is all zeros and
    /// only zeros follow the frame's end.
    static func isTorn(_ raw: UnsafeRawBufferPointer, at offset: Int) -> Bool {
        let length = raw.count - offset >= 4
            ? Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))) : 0
        let frameEnd = min(raw.count, offset + WALRecord.headerSize + length)
        guard raw[frameEnd...].allSatisfy({ $0 == 0 }) else { return false }
        var sector = (offset / sectorSize) * sectorSize
        while sector < frameEnd {
            let lo = max(sector, offset)
            let hi = min(sector + sectorSize, frameEnd)
            if hi - lo >= min(sectorSize, 8), raw[lo..<hi].allSatisfy({ $0 == 0 }) { return true }
            sector += sectorSize
        }
        return false
    }

    private func cut(_ segment: WALSegment, at end: Int, from size: Int, header rewriteHeader: Bool) throws {
        let fd = try FileSystem.open(segment.path, flags: O_WRONLY)
        defer { close(fd) }
        try FileSystem.truncate(fd: fd, to: end, path: segment.path)
        if rewriteHeader {
            try WALSegment.header.withUnsafeBytes { try FileSystem.write(fd: fd, $0, at: 0, path: segment.path) }
        }
        try FileSystem.sync(fd: fd, path: segment.path)
        logger.warning(
            "cut a torn tail off the WAL",
            metadata: ["wal.file": "\(segment.path)", "wal.offset": "\(end)", "wal.bytesCut": "\(size - end)",
                       "zxid": "\(lastZxid)"])
    }
}
