#if canImport(Glibc)
import Glibc
#endif

/// The open end of the last WAL segment: appends land at `end`, in place, inside room reserved ahead of
/// them (zeros past `end`), so an append's fdatasync has no file size to journal.
///
/// Where the filesystem has direct I/O, appends skip the page cache (`O_DIRECT`): each write covers whole
/// blocks from the one holding `end`, so the last, partial block is kept in memory and written again with
/// the next append. Filling fresh page-cache pages was the costliest part of an append on a VM, and the
/// log is read only at startup or by a watcher catching up. Without direct I/O (a filesystem that refuses
/// it, or `directIO` false) appends are plain writes and the synced whole pages are dropped from the cache.
///
/// Invariants: bytes below `end` never change once written — a block written again holds them unchanged, so
/// a write torn anywhere in it leaves them as they were; bytes past `end` are zeros.
///
/// Used by the writer thread only.
final class WALTail {
    static let blockSize = 4096
    /// How much room is reserved past the end at a time.
    static let reservationChunk = 1 << 20

    let path: String
    let isDirect: Bool
    private let files: any DurableFiles
    private let fd: Int32
    /// Bytes appended (and, after `sync`, durable).
    private(set) var end: Int
    /// Bytes reserved in the file (see `reservationChunk`); `end` never passes it without growing it.
    private var reserved: Int
    /// Direct I/O: room for whole blocks from the one holding `end`, aligned; its first `end % blockSize` bytes
    /// are the file's, the rest is scratch.
    private var blocks: UnsafeMutableRawBufferPointer
    /// Buffered I/O: bytes below this offset (whole synced pages) were dropped from the page cache.
    private var uncachedEnd = 0

    /// Creates the segment file with `header` as its first bytes, and syncs it (not its directory).
    /// `directIO`: use direct I/O if the filesystem has it.
    convenience init(creating path: String, header: [UInt8], directIO: Bool, files: any DurableFiles = SystemFiles())
        throws
    {
        try self.init(
            path: path, flags: O_RDWR | O_CREAT | O_TRUNC, end: 0, reserved: 0, directIO: directIO, files: files)
        try header.withUnsafeBytes { try append($0) }
        try files.dataSync(fd: fd, path: path)
    }

    /// Opens an existing segment whose records end at `end`.
    convenience init(opening path: String, end: Int, directIO: Bool, files: any DurableFiles = SystemFiles()) throws {
        try self.init(
            path: path, flags: O_RDWR, end: end, reserved: try FileSystem.size(path), directIO: directIO, files: files)
    }

    private init(path: String, flags: Int32, end: Int, reserved: Int, directIO: Bool, files: any DurableFiles) throws {
        let (fd, isDirect) = try files.open(path, flags: flags, direct: directIO)
        let blocks = UnsafeMutableRawBufferPointer.allocate(
            byteCount: isDirect ? 2 * Self.blockSize : 0, alignment: Self.blockSize)
        blocks.initializeMemory(as: UInt8.self, repeating: 0)
        let partial = end % Self.blockSize
        if isDirect, partial != 0, pread(fd, blocks.baseAddress, Self.blockSize, off_t(end - partial)) < partial {
            let error = FileSystem.fail(path, "read the last block")
            close(fd)
            blocks.deallocate()
            throw error
        }
        (self.path, self.fd, self.isDirect, self.blocks, self.files) = (path, fd, isDirect, blocks, files)
        (self.end, self.reserved) = (end, reserved)
    }

    deinit {
        close(fd)
        blocks.deallocate()
    }

    /// Appends `bytes` at `end`. Not durable until `sync()`. On failure `end` stays where it was, but bytes
    /// may have landed past it: the caller cuts them off (`cut(to:)`) before appending again.
    func append(_ bytes: UnsafeRawBufferPointer) throws {
        let newEnd = end + bytes.count
        if newEnd > reserved {
            // Best effort: a filesystem without fallocate just grows the file as records come.
            let target = newEnd + Self.reservationChunk
            if posix_fallocate(fd, 0, off_t(target)) == 0 { reserved = target }
        }
        if isDirect {
            try appendDirect(bytes, newEnd: newEnd)
        } else {
            try files.write(fd: fd, bytes, at: end, path: path)
        }
        end = newEnd
    }

    /// Cuts the file back to `offset` (at most `end`), durably: whatever was appended after it is gone even
    /// if the machine stops right after. Shrinking a file needs no free space.
    func cut(to offset: Int) throws {
        precondition(offset <= end, "a WAL tail is cut back, never forward")
        try files.truncate(fd: fd, to: offset, path: path)
        try files.dataSync(fd: fd, path: path)
        (end, reserved) = (offset, offset)
        uncachedEnd = min(uncachedEnd, offset - offset % Self.blockSize)
        let partial = offset % Self.blockSize
        if isDirect, partial != 0, pread(fd, blocks.baseAddress, Self.blockSize, off_t(offset - partial)) < partial {
            throw FileSystem.fail(path, "read the last block")
        }
    }

    private func appendDirect(_ bytes: UnsafeRawBufferPointer, newEnd: Int) throws {
        let start = end - end % Self.blockSize
        let count = (newEnd - start + Self.blockSize - 1) / Self.blockSize * Self.blockSize
        if count > blocks.count {
            let larger = UnsafeMutableRawBufferPointer.allocate(byteCount: 2 * count, alignment: Self.blockSize)
            larger.copyMemory(from: UnsafeRawBufferPointer(rebasing: blocks[..<(end - start)]))
            blocks.deallocate()
            blocks = larger
        }
        let base = blocks.baseAddress!
        if let source = bytes.baseAddress { (base + (end - start)).copyMemory(from: source, byteCount: bytes.count) }
        // Past the new end the last block is zeros, as the file's reserved room is.
        (base + (newEnd - start)).initializeMemory(as: UInt8.self, repeating: 0, count: count - (newEnd - start))
        try files.write(fd: fd, UnsafeRawBufferPointer(rebasing: blocks[..<count]), at: start, path: path)
        // The new last, partial block moves to the front for the next append.
        let lastStart = newEnd - newEnd % Self.blockSize
        if lastStart > start { base.copyMemory(from: base + (lastStart - start), byteCount: newEnd - lastStart) }
    }

    /// Makes everything appended so far durable.
    func sync() throws {
        try files.dataSync(fd: fd, path: path)
        guard !isDirect else { return }
        let synced = end - end % Self.blockSize
        guard synced > uncachedEnd else { return }
        _ = posix_fadvise(fd, off_t(uncachedEnd), off_t(synced - uncachedEnd), POSIX_FADV_DONTNEED)
        uncachedEnd = synced
    }

    /// Ends the segment: the file keeps only its records (finished segments never end in zeros), synced.
    func finish() throws {
        try files.truncate(fd: fd, to: end, path: path)
        try files.dataSync(fd: fd, path: path)
    }
}
