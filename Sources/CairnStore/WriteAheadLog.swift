import CairnCore
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The write-ahead log in `<data-dir>/wal/`: segments of framed records, one record per change.
///
/// Invariants: a record is acknowledged only after `sync()` returned for it (acked ⇒ fdatasync'd), and
/// the store commits a change to LMDB only after that. The log never keeps records of a batch that was not
/// applied: the writer `publish()`es a batch once LMDB committed it, and `discardUnpublished()` cuts off
/// one that failed anywhere on the way (docs/storage.md, "When a write fails"). Readers see published
/// records only.
///
/// `@unchecked Sendable`: the append side (`tail`, `lastZxid`) is used by the writer thread only;
/// what other threads read (segment list, durable end) sits in `published`, a `Mutex`.
final class WriteAheadLog: @unchecked Sendable {
    struct Published: Sendable {
        var segments: [WALSegment]
        /// End of the synced bytes in the last segment.
        var durableEnd: Int
        var lastZxid: Zxid
    }

    let directory: String
    let segmentSize: Int
    /// Whether appends may use direct I/O (see `WALTail`).
    let directIO: Bool
    private let files: any DurableFiles
    private let logger: Logger
    /// The last segment, appended to.
    private var tail: WALTail
    private(set) var lastZxid: Zxid
    private let published: Mutex<Published>

    /// Opens the log, checks every retained record, cuts a torn tail, and hands each change after
    /// `appliedZxid` to `replay` in zxid order.
    init(
        directory: String, segmentSize: Int, directIO: Bool, files: any DurableFiles = SystemFiles(),
        appliedZxid: Zxid, logger: Logger, replay: (Change) throws -> Void
    ) throws {
        self.directory = directory
        self.segmentSize = segmentSize
        self.directIO = directIO
        self.files = files
        self.logger = logger
        try FileSystem.makeDirectory(directory)
        var segments = try WALSegment.list(in: directory)

        if segments.isEmpty {
            let segment = WALSegment(firstZxid: appliedZxid + 1, directory: directory)
            tail = try Self.create(segment, directory: directory, directIO: directIO, files: files)
            segments = [segment]
            lastZxid = appliedZxid
        } else {
            var scan = WALScan(appliedZxid: appliedZxid, logger: logger)
            for (index, segment) in segments.enumerated() {
                try scan.read(segment, isLast: index == segments.count - 1, replay: replay)
            }
            if scan.lastZxid < appliedZxid {
                throw StoreError.walMissing(
                    "the log ends at zxid \(scan.lastZxid) but the store has applied \(appliedZxid); restore the "
                        + "missing segments, or start from a snapshot without this store")
            }
            tail = try WALTail(
                opening: segments[segments.count - 1].path, end: scan.lastSegmentEnd, directIO: directIO, files: files)
            lastZxid = scan.lastZxid
        }
        published = Mutex(Published(segments: segments, durableEnd: tail.end, lastZxid: lastZxid))
        if directIO && !tail.isDirect {
            logger.info(
                "the WAL's filesystem refuses direct I/O: appends go through the page cache",
                metadata: ["wal.directory": "\(directory)"])
        }
    }

    /// The oldest zxid the log can still replay from (history before it was purged).
    var oldestZxid: Zxid { published.withLock { $0.segments[0].firstZxid } }

    /// Retained segments.
    var segmentCount: Int { published.withLock { $0.segments.count } }

    /// Bytes in all retained segments.
    var totalBytes: Int {
        let state = published.withLock { $0 }
        return state.segments.dropLast().reduce(state.durableEnd) { $0 + ((try? FileSystem.size($1.path)) ?? 0) }
    }

    /// Appends framed records (see `WALRecord`) ending at `lastZxid`. Not durable until `sync()`, not
    /// visible to readers until `publish()`. After a failure, `discardUnpublished()` before appending again.
    func append(_ frames: [UInt8], lastZxid: Zxid) throws {
        try frames.withUnsafeBytes { try tail.append($0) }
        self.lastZxid = lastZxid
    }

    /// Makes everything appended so far durable.
    func sync() throws {
        try tail.sync()
    }

    /// Makes the synced records visible to readers (the store has applied them), then rolls to a new
    /// segment when this one is full. A roll that fails (a full disk) is logged and tried again after the
    /// next batch; the segment grows past its size meanwhile.
    func publish() {
        let (end, last) = (tail.end, lastZxid)
        published.withLock {
            $0.durableEnd = end
            $0.lastZxid = last
        }
        guard end >= segmentSize else { return }
        do {
            try roll()
        } catch {
            logger.error(
                "could not start a new WAL segment; appending to the current one", metadata: ["error": "\(error)"])
        }
    }

    /// Cuts off every record appended since the last `publish()`, durably, so the next batch reuses their
    /// zxids on a log that never held them.
    func discardUnpublished() throws {
        let (end, last) = published.withLock { ($0.durableEnd, $0.lastZxid) }
        try tail.cut(to: end)
        lastZxid = last
    }

    private func roll() throws {
        try tail.finish()
        let next = WALSegment(firstZxid: lastZxid + 1, directory: directory)
        do {
            tail = try Self.create(next, directory: directory, directIO: directIO, files: files)
        } catch {
            // A half-made segment would claim zxids the current one goes on to hold.
            try? FileSystem.remove(next.path)
            throw error
        }
        published.withLock {
            $0.segments.append(next)
            $0.durableEnd = WALSegment.headerSize
        }
        logger.debug("WAL segment started", metadata: ["wal.file": "\(next.path)"])
    }

    /// Deletes the segments whose records are all at or below `zxid`; never the current segment.
    func removeSegments(through zxid: Zxid) throws {
        let doomed: [WALSegment] = published.withLock { state in
            var doomed: [WALSegment] = []
            while state.segments.count > 1 && state.segments[1].firstZxid <= zxid + 1 {
                doomed.append(state.segments.removeFirst())
            }
            return doomed
        }
        guard !doomed.isEmpty else { return }
        for segment in doomed { try FileSystem.remove(segment.path) }
        try files.syncDirectory(directory)
        logger.info("WAL segments removed by retention", metadata: ["wal.count": "\(doomed.count)", "zxid": "\(zxid)"])
    }

    /// Durable changes after `zxid`, at most `limit` of them, read from the retained segments.
    /// Throws `CairnError.compacted` when records after `zxid` were purged.
    func changes(after zxid: Zxid, limit: Int = .max) throws -> [Change] {
        let state = published.withLock { $0 }
        let oldest = state.segments[0].firstZxid
        guard zxid + 1 >= oldest else { throw CairnError.compacted(requested: zxid, oldestAvailable: oldest) }
        guard zxid < state.lastZxid else { return [] }
        let start = state.segments.lastIndex { $0.firstZxid <= zxid + 1 } ?? 0
        var result: [Change] = []
        for index in state.segments.indices.dropFirst(start) {
            let whole = try Self.forEachRecord(of: index, in: state) { recordZxid, payload, _ in
                guard recordZxid > zxid, recordZxid <= state.lastZxid else { return true }
                result.append(try Change(zxid: recordZxid, payload: payload))
                return result.count < limit
            }
            if !whole { break }
        }
        return result
    }

    /// The durable records after `zxid`: their bytes (frames, as they were appended) and the time of the first of
    /// them (nil when there is none). Reads only the segment they start in; the later ones count by size.
    func records(after zxid: Zxid) throws -> (bytes: Int, firstTime: Int64?) {
        let state = published.withLock { $0 }
        let start = state.segments.lastIndex { $0.firstZxid <= zxid + 1 } ?? 0
        var total = 0
        var firstTime: Int64?
        _ = try Self.forEachRecord(of: start, in: state) { recordZxid, payload, frameBytes in
            guard recordZxid > zxid else { return true }
            if firstTime == nil { firstTime = try Change(zxid: recordZxid, payload: payload).time }
            total += frameBytes
            return true
        }
        for index in state.segments.indices.dropFirst(start + 1) {
            let isLast = index == state.segments.count - 1
            total +=
                (isLast ? state.durableEnd : try FileSystem.size(state.segments[index].path)) - WALSegment.headerSize
        }
        return (total, firstTime)
    }

    /// Hands `body` each published record of segment `index` in order (zxid, payload, frame bytes) until it returns
    /// false; returns false when it stopped early.
    private static func forEachRecord(
        of index: Int, in state: Published, _ body: (Zxid, UnsafeRawBufferPointer, Int) throws -> Bool
    ) throws -> Bool {
        var bytes = try FileSystem.readAll(state.segments[index].path)
        if index == state.segments.count - 1 { bytes = Array(bytes.prefix(state.durableEnd)) }
        return try bytes.withUnsafeBytes { raw in
            var offset = WALSegment.headerSize
            while offset < raw.count, case .record(let zxid, let payload, let end) = WALRecord.parse(raw, at: offset) {
                guard try body(zxid, payload, end - offset) else { return false }
                offset = end
            }
            return true
        }
    }

    /// A new segment: its header, synced, and the file's name in the directory.
    private static func create(_ segment: WALSegment, directory: String, directIO: Bool, files: any DurableFiles)
        throws -> WALTail
    {
        let tail = try WALTail(creating: segment.path, header: WALSegment.header, directIO: directIO, files: files)
        try files.syncDirectory(directory)
        return tail
    }
}
