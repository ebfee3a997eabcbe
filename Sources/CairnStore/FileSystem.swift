#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The POSIX file calls the store needs, each turning a failure into `StoreError.io` with the path.
enum FileSystem {
    static func fail(_ path: String, _ operation: String) -> StoreError {
        .io(path: path, operation: operation, errno: errno)
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Creates `path` for its owner only (0700), like every file made here (0600): a data directory holds every
    /// node, session password hash and snapshot.
    static func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o700) != 0 && errno != EEXIST { throw fail(path, "mkdir") }
    }

    static func open(_ path: String, flags: Int32, mode: mode_t = 0o600) throws -> Int32 {
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        if fd < 0 { throw fail(path, "open") }
        return fd
    }

    /// Names in `directory` (without `.` and `..`), sorted.
    static func list(_ directory: String) throws -> [String] {
        guard let dir = opendir(directory) else { throw fail(directory, "opendir") }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func readAll(_ path: String) throws -> [UInt8] {
        let fd = try open(path, flags: O_RDONLY)
        defer { close(fd) }
        return try readAll(fd: fd, path: path)
    }

    /// Reads from the start to the end of the file (also for /proc files, whose size reads as 0).
    static func readAll(fd: Int32, path: String) throws -> [UInt8] {
        var st = stat()
        if fstat(fd, &st) != 0 { throw fail(path, "fstat") }
        var bytes = [UInt8](repeating: 0, count: max(Int(st.st_size), 4096))
        var done = 0
        while true {
            if done == bytes.count { bytes.append(contentsOf: repeatElement(0, count: bytes.count)) }
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, $0.count - done, off_t(done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw fail(path, "read")
            }
            if n == 0 { break }
            done += n
        }
        bytes.removeSubrange(done...)
        return bytes
    }

    /// Streams a file's bytes to `body` in chunks of up to 1 MiB.
    static func forEachChunk(of path: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let fd = try open(path, flags: O_RDONLY)
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var offset = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, $0.count, off_t(offset)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw fail(path, "read")
            }
            if n == 0 { return }
            try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            offset += n
        }
    }

    /// Copies `source` to `destination` through a temporary file, fsynced and renamed into place.
    static func copy(_ source: String, to destination: String, directory: String) throws {
        try replace(destination, directory: directory) { fd, temporary in
            var offset = 0
            try forEachChunk(of: source) { chunk in
                try write(fd: fd, chunk, at: offset, path: temporary)
                offset += chunk.count
            }
        }
    }

    static func write(fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, path: String) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw fail(path, "write")
            }
            done += n
        }
    }

    static func dataSync(fd: Int32, path: String) throws {
        if fdatasync(fd) != 0 { throw fail(path, "fdatasync") }
    }

    static func sync(fd: Int32, path: String) throws {
        if fsync(fd) != 0 { throw fail(path, "fsync") }
    }

    /// fsyncs a directory so that files created, renamed or removed in it stay so after a power cut.
    static func syncDirectory(_ path: String) throws {
        let fd = try open(path, flags: O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try sync(fd: fd, path: path)
    }

    static func truncate(fd: Int32, to size: Int, path: String) throws {
        if ftruncate(fd, off_t(size)) != 0 { throw fail(path, "ftruncate") }
    }

    static func rename(_ from: String, _ to: String) throws {
        if Glibc.rename(from, to) != 0 { throw fail(from, "rename to \(to)") }
    }

    static func remove(_ path: String) throws {
        if unlink(path) != 0 && errno != ENOENT { throw fail(path, "unlink") }
    }

    static func size(_ path: String) throws -> Int {
        var st = stat()
        if stat(path, &st) != 0 { throw fail(path, "stat") }
        return Int(st.st_size)
    }

    /// Writes `bytes` to `path` through a temporary file, fsynced and renamed, then fsyncs the directory.
    /// Bytes an unprivileged process may still write on the filesystem holding `path`.
    static func availableBytes(_ path: String) throws -> Int {
        var info = statvfs()
        if statvfs(path, &info) != 0 { throw fail(path, "statvfs") }
        return Int(info.f_bavail) * Int(info.f_frsize)
    }

    static func writeAtomically(_ bytes: [UInt8], to path: String, directory: String) throws {
        try replace(path, directory: directory) { fd, temporary in
            try bytes.withUnsafeBytes { try write(fd: fd, $0, at: 0, path: temporary) }
        }
    }

    /// Fills `<path>.tmp` with `fill`, fsyncs it, renames it over `path` and fsyncs the directory: readers
    /// see the old file or the whole new one, also after a power cut.
    private static func replace(_ path: String, directory: String, _ fill: (Int32, String) throws -> Void) throws {
        let temporary = path + ".tmp"
        let fd = try open(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
        do {
            try fill(fd, temporary)
            try sync(fd: fd, path: temporary)
        } catch {
            close(fd)
            throw error
        }
        close(fd)
        try rename(temporary, path)
        try syncDirectory(directory)
    }
}
