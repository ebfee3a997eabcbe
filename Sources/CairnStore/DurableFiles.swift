import CLinuxFileIO

#if canImport(Glibc)
import Glibc
#endif

/// The calls through which the WAL's bytes reach the disk and become durable: what a power cut can undo.
/// `SystemFiles` makes them; a test swaps in one that loses everything not synced (`Store.Configuration.files`).
protocol DurableFiles: Sendable {
    /// Opens `path` (0600 when `flags` creates it), with direct I/O when `direct` and the filesystem has it.
    func open(_ path: String, flags: Int32, direct: Bool) throws -> (fd: Int32, isDirect: Bool)
    func write(fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, path: String) throws
    func truncate(fd: Int32, to size: Int, path: String) throws
    /// fdatasync: the file's bytes (and the size needed to read them) survive a power cut once it returns.
    func dataSync(fd: Int32, path: String) throws
    /// The names created, renamed or removed in the directory survive a power cut once it returns.
    func syncDirectory(_ path: String) throws
}

/// The real calls (POSIX, through `FileSystem`).
struct SystemFiles: DurableFiles {
    func open(_ path: String, flags: Int32, direct: Bool) throws -> (fd: Int32, isDirect: Bool) {
        let fd = direct ? cairn_open_direct(path, flags, 0o600) : -1
        if fd >= 0 { return (fd, true) }
        return (try FileSystem.open(path, flags: flags), false)
    }

    func write(fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, path: String) throws {
        try FileSystem.write(fd: fd, bytes, at: offset, path: path)
    }

    func truncate(fd: Int32, to size: Int, path: String) throws {
        try FileSystem.truncate(fd: fd, to: size, path: path)
    }

    func dataSync(fd: Int32, path: String) throws { try FileSystem.dataSync(fd: fd, path: path) }

    func syncDirectory(_ path: String) throws { try FileSystem.syncDirectory(path) }
}
