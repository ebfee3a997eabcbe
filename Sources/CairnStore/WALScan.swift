import CairnCore
import Logging

/// Reads WAL segments in order at open: checks frames, checksums and zxid continuity, hands changes after
/// the applied zxid to the replay, and cuts a torn tail off the last segment.
///
/// The last segment is preallocated, so zeros after its last record are its unused room: the log ends
/// there, and nothing is cut. Torn tail (cut, kept in a side file and logged): in the last segment only, a
/// frame that ends past the end of the file, or a checksum mismatch in a frame holding a zero-filled
/// 512-byte sector, with nothing but zeros after it (a write the crash interrupted) — and only when it can
/// be the end of the log: no whole record follows it anywhere in the segment (a damaged length field makes a
/// frame in the middle look cut short), and the store has applied nothing beyond it. Anything else is
/// damage: the open stops with the file and byte offset, having cut nothing.
struct WALScan {
    static let sectorSize = 512

    let appliedZxid: Zxid
    let logger: Logger
    /// false: report a torn tail in `tornTail` but leave the file as it is (inspection tools).
    let cutsTornTail: Bool
    /// A torn tail found in the last segment: where it starts and how many bytes it holds (zeros included).
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
        guard isLast else { return }
        lastSegmentEnd = end
        // A segment whose header never reached the disk (a kill right at a roll) is torn from its first byte.
        let headerMissing = !hasHeader(bytes)
        let tornStart = headerMissing ? 0 : end
        // Zeros after the last record are the segment's preallocated room, not damage.
        guard headerMissing || (end != bytes.count && !endsInZeros) else { return }
        tornTail = (segment.path, tornStart, bytes.count - tornStart)
        if cutsTornTail { try cut(segment, bytes, at: tornStart) }
    }

    private func hasHeader(_ bytes: [UInt8]) -> Bool {
        bytes.count >= WALSegment.headerSize && bytes.prefix(WALSegment.headerSize).elementsEqual(WALSegment.header)
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
                        throw StoreError.corruptWAL(
                            file: segment.path, offset: offset, reason: "undecodable record: \(error)")
                    }
                    try replay(change)
                }
                lastZxid = zxid
                offset = end
            case .zeros:
                guard isLast else {
                    throw StoreError.corruptWAL(
                        file: segment.path, offset: offset, reason: "the segment ends inside a record")
                }
                endsInZeros = true
                return offset
            case .truncated:
                guard isLast else {
                    throw StoreError.corruptWAL(
                        file: segment.path, offset: offset, reason: "the segment ends inside a record")
                }
                try checkEndOfLog(
                    raw, at: offset, segment: segment, reason: "a record that runs past the end of the file")
                return offset
            case .damaged(let reason):
                guard isLast, Self.isTorn(raw, at: offset) else {
                    throw StoreError.corruptWAL(file: segment.path, offset: offset, reason: reason)
                }
                try checkEndOfLog(raw, at: offset, segment: segment, reason: reason)
                return offset
            }
        }
        return offset
    }

    /// Throws unless the candidate tear at `offset` can be the end of the log: no whole record follows it, and
    /// the store has applied nothing beyond the last record before it.
    private func checkEndOfLog(_ raw: UnsafeRawBufferPointer, at offset: Int, segment: WALSegment, reason: String)
        throws
    {
        let following = Self.wholeRecords(raw, from: offset + 1, lastZxid: lastZxid)
        if let first = following.first {
            throw StoreError.corruptWAL(
                file: segment.path, offset: offset,
                reason:
                    "\(reason), but \(following.count) whole records follow (zxid \(first.zxid)…\(following.last!.zxid), "
                    + "the first at byte offset \(first.offset)): damage inside the log, not a torn tail")
        }
        if appliedZxid > lastZxid {
            throw StoreError.corruptWAL(
                file: segment.path, offset: offset,
                reason: "\(reason), but the store has applied zxid \(appliedZxid), past the log's last whole record "
                    + "\(lastZxid): damage inside the log, not a torn tail")
        }
    }

    /// The whole records (checksums matching, zxids after `lastZxid`) found at any byte offset from `start` on:
    /// where a damaged frame hides where the next one starts, this finds them anyway. A candidate offset is
    /// checksummed only when the zxid field there is one the records after `lastZxid` could carry.
    static func wholeRecords(_ raw: UnsafeRawBufferPointer, from start: Int, lastZxid: Zxid) -> [(
        offset: Int, zxid: Zxid
    )] {
        var found: [(offset: Int, zxid: Zxid)] = []
        let highest = lastZxid + Zxid(max(0, raw.count - start) / WALRecord.headerSize + 1)
        var candidate = start
        while candidate + WALRecord.headerSize <= raw.count {
            let zxid = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: candidate + 8, as: UInt64.self))
            if zxid > lastZxid, zxid <= highest,
                case .record(let zxid, _, let end) = WALRecord.parse(raw, at: candidate)
            {
                found.append((candidate, zxid))
                candidate = end
            } else {
                candidate += 1
            }
        }
        return found
    }

    /// A damaged frame at `offset` is a torn write when one of the sectors it covers is all zeros and
    /// only zeros follow the frame's end.
    static func isTorn(_ raw: UnsafeRawBufferPointer, at offset: Int) -> Bool {
        let length =
            raw.count - offset >= 4
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

    /// Cuts the torn tail at `offset` off the segment (read whole into `bytes`), keeping what was cut but its
    /// trailing zeros in a side file `<segment>.torn-<ms>` first (none when only zeros are cut).
    private func cut(_ segment: WALSegment, _ bytes: [UInt8], at offset: Int) throws {
        let side = WALSegment.dataEnd(bytes) > offset ? segment.path + ".torn-\(SystemClock.wallMilliseconds())" : nil
        try segment.cut(bytes, at: offset, keepingIn: side)
        logger.warning(
            "cut a torn tail off the WAL",
            metadata: [
                "wal.file": "\(segment.path)", "wal.offset": "\(offset)", "wal.bytesCut": "\(bytes.count - offset)",
                "wal.sideFile": "\(side ?? "none (only zeros were cut)")", "zxid": "\(lastZxid)",
            ])
    }
}
