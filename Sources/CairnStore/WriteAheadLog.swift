import CairnCore
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The write-ahead log in `<data-dir>/wal/`: segments of framed records, one record per change.
///
/// Invariant: a record is acknowledged only after `sync()` returned for it (acked ⇒ fdatasync'd), and
/// the store commits a change to LMDB only after that.
///
/// `@unchecked Sendable`: the append side (`fd`, `size`, `lastZxid`) is used by the writer thread only;
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
    private let logger: Logger
    private var fd: Int32
    private var current: WALSegment
    private var size: Int
    /// Bytes reserved in the current segment (zeros past `size`): appends inside it change no file size,
    /// so their fdatasync has no metadata to journal. Grown a chunk at a time.
    private var allocated: Int
    static let preallocationChunk = 1 << 20
    /// The segment's bytes below this offset (whole pages, synced) have been dropped from the page cache.
    private var uncachedEnd = 0
    private(set) var lastZxid: Zxid
    private let published: Mutex<Published>

    /// Opens the log, checks every retained record, cuts a torn tail, and hands each change after
    /// `appliedZxid` to `replay` in zxid order.
    init(
        directory: String, segmentSize: Int, appliedZxid: Zxid, logger: Logger, replay: (Change) throws -> Void
    ) throws {
        self.directory = directory
        self.segmentSize = segmentSize
        self.logger = logger
        try FileSystem.makeDirectory(directory)
        var segments = try WALSegment.list(in: directory)

        if segments.isEmpty {
            let segment = WALSegment(firstZxid: appliedZxid + 1, directory: directory)
            fd = try Self.create(segment, directory: directory)
            segments = [segment]
            current = segment
            size = WALSegment.headerSize
            allocated = Self.preallocationChunk
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
            let last = segments[segments.count - 1]
            fd = try FileSystem.open(last.path, flags: O_WRONLY)
            current = last
            size = scan.lastSegmentEnd
            allocated = try FileSystem.size(last.path)
            lastZxid = scan.lastZxid
        }
        published = Mutex(Published(segments: segments, durableEnd: size, lastZxid: lastZxid))
    }

    deinit { close(fd) }

    /// The oldest zxid the log can still replay from (history before it was purged).
    var oldestZxid: Zxid { published.withLock { $0.segments[0].firstZxid } }

    /// Bytes in all retained segments.
    var totalBytes: Int {
        let state = published.withLock { $0 }
        return state.segments.dropLast().reduce(state.durableEnd) { $0 + ((try? FileSystem.size($1.path)) ?? 0) }
    }

    /// Appends framed records (see `WALRecord`) ending at `lastZxid`. Not durable until `sync()`.
    /// On failure the segment is cut back to where it was, so no partial record stays behind.
    func append(_ frames: [UInt8], lastZxid: Zxid) throws {
        if size + frames.count > allocated {
            // Best effort: a filesystem without fallocate just grows the file as records come.
            let target = size + frames.count + Self.preallocationChunk
            if posix_fallocate(fd, 0, off_t(target)) == 0 { allocated = target }
        }
        do {
            try frames.withUnsafeBytes { try FileSystem.write(fd: fd, $0, at: size, path: current.path) }
        } catch {
            _ = ftruncate(fd, off_t(size))
            throw error
        }
        size += frames.count
        self.lastZxid = lastZxid
    }

    /// Makes everything appended so far durable, then rolls to a new segment when this one is full.
    func sync() throws {
        try FileSystem.dataSync(fd: fd, path: current.path)
        dropSyncedPages()
        let (end, last) = (size, lastZxid)
        published.withLock {
            $0.durableEnd = end
            $0.lastZxid = last
        }
        if size >= segmentSize { try roll() }
    }

    /// Releases the page cache of the synced whole pages behind the tail: the log is written once and read
    /// only at startup or by a watcher catching up, and the freed pages serve the next appends (fresh
    /// page-cache memory for every append cost up to a third of the writer's CPU on a VM).
    private func dropSyncedPages() {
        let end = size & ~4095
        guard end > uncachedEnd else { return }
        _ = posix_fadvise(fd, off_t(uncachedEnd), off_t(end - uncachedEnd), POSIX_FADV_DONTNEED)
        uncachedEnd = end
    }

    private func roll() throws {
        // A finished segment keeps only its records: older segments never end in zeros.
        try FileSystem.truncate(fd: fd, to: size, path: current.path)
        try FileSystem.dataSync(fd: fd, path: current.path)
        let next = WALSegment(firstZxid: lastZxid + 1, directory: directory)
        let newFD = try Self.create(next, directory: directory)
        close(fd)
        fd = newFD
        current = next
        size = WALSegment.headerSize
        allocated = Self.preallocationChunk
        uncachedEnd = 0
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
        try FileSystem.syncDirectory(directory)
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
        for (index, segment) in state.segments.enumerated().dropFirst(start) {
            var bytes = try FileSystem.readAll(segment.path)
            if index == state.segments.count - 1 { bytes = Array(bytes.prefix(state.durableEnd)) }
            let done = try bytes.withUnsafeBytes { raw in
                var offset = WALSegment.headerSize
                while offset < raw.count, case .record(let recordZxid, let payload, let end) = WALRecord.parse(raw, at: offset) {
                    offset = end
                    guard recordZxid > zxid, recordZxid <= state.lastZxid else { continue }
                    result.append(try Change(zxid: recordZxid, payload: payload))
                    if result.count >= limit { return true }
                }
                return false
            }
            if done { break }
        }
        return result
    }

    /// A new segment: its header, and the first chunk reserved (see `allocated`).
    private static func create(_ segment: WALSegment, directory: String) throws -> Int32 {
        let fd = try FileSystem.open(segment.path, flags: O_WRONLY | O_CREAT | O_TRUNC)
        do {
            _ = posix_fallocate(fd, 0, off_t(preallocationChunk))
            try WALSegment.header.withUnsafeBytes { try FileSystem.write(fd: fd, $0, at: 0, path: segment.path) }
            try FileSystem.sync(fd: fd, path: segment.path)
            try FileSystem.syncDirectory(directory)
        } catch {
            close(fd)
            throw error
        }
        return fd
    }
}
