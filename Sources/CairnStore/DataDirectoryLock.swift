#if canImport(Glibc)
import Glibc
#endif

/// The exclusive lock on a data directory (`flock` on `<data-dir>/LOCK`), released when the process ends.
///
/// The file records the holder's pid, the machine's boot id and whether it shut down cleanly. An
/// unclean shutdown followed by a reboot means LMDB (which Cairn commits without per-commit sync) may
/// have lost pages in the power cut, so recovery restores a snapshot instead of trusting it.
final class DataDirectoryLock: Sendable {
    /// What the previous holder left in the lock file.
    struct Previous: Sendable, Equatable {
        var clean: Bool
        var bootID: String
    }

    private let fd: Int32
    private let path: String
    let bootID: String
    /// nil when the directory was never used.
    let previous: Previous?

    init(_ directory: DataDirectory) throws {
        path = directory.lockFile
        let fd = try FileSystem.open(path, flags: O_RDWR | O_CREAT)
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let holder = String(decoding: (try? FileSystem.readAll(fd: fd, path: path)) ?? [], as: UTF8.self)
            close(fd)
            throw StoreError.locked(
                dataDirectory: directory.path, holder: holder.split(separator: "\n").first.map(String.init) ?? "unknown"
            )
        }
        self.fd = fd
        let contents = String(decoding: try FileSystem.readAll(fd: fd, path: path), as: UTF8.self)
        previous = Self.parse(contents)
        bootID = Self.currentBootID()
        try record(clean: false)
    }

    /// True when the last holder did not shut down cleanly and the machine rebooted since.
    var lastShutdownLostPower: Bool {
        guard let previous else { return false }
        return !previous.clean && previous.bootID != bootID
    }

    /// Marks the directory as cleanly shut down and releases the lock.
    func release(clean: Bool) {
        if clean { try? record(clean: true) }
        close(fd)
    }

    private func record(clean: Bool) throws {
        let text = "pid=\(getpid()) boot=\(bootID) state=\(clean ? "clean" : "running")\n"
        let bytes = Array(text.utf8)
        try FileSystem.truncate(fd: fd, to: 0, path: path)
        try bytes.withUnsafeBytes { try FileSystem.write(fd: fd, $0, at: 0, path: path) }
        try FileSystem.sync(fd: fd, path: path)
    }

    private static func parse(_ contents: String) -> Previous? {
        let fields = KeyValueText.parse(contents)
        guard let state = fields["state"], let boot = fields["boot"] else { return nil }
        return Previous(clean: state == "clean", bootID: String(boot))
    }

    /// The kernel's id for this boot; changes at every reboot.
    static func currentBootID() -> String {
        let bytes = (try? FileSystem.readAll("/proc/sys/kernel/random/boot_id")) ?? []
        let id = String(decoding: bytes, as: UTF8.self).trimmingWhitespace()
        return id.isEmpty ? "unknown" : id
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
