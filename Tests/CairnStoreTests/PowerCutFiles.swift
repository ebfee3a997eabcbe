import CairnCore
import CairnTesting
import Synchronization

@testable import CairnStore

#if canImport(Glibc)
import Glibc
#endif

/// The WAL's durable-file layer with a simulated power cut: it passes every call through to the real files
/// and keeps, for each file, what a disk would still hold after losing power — its bytes as of its last
/// fdatasync (writes and truncations since are pending) and whether its name is durable (a file created is
/// not, until its directory is synced).
///
/// `cutPower()` stops the machine: every later call fails with EIO, so nothing more is acknowledged.
/// `leaveFilesAsAfterTheCut(keepingUnsynced:)` then rewrites the files as the disk holds them: each file's
/// synced bytes, plus (when asked) an in-order prefix of its pending writes, the last of them torn at a 512-byte
/// sector; files whose names were never synced are gone.
final class PowerCutFiles: DurableFiles {
    private enum Pending {
        case write(offset: Int, bytes: [UInt8])
        case truncate(Int)

        func apply(to image: inout [UInt8]) {
            switch self {
            case .write(let offset, let bytes):
                if image.count < offset + bytes.count {
                    image.append(contentsOf: repeatElement(0, count: offset + bytes.count - image.count))
                }
                image.replaceSubrange(offset..<offset + bytes.count, with: bytes)
            case .truncate(let size):
                if size < image.count {
                    image.removeSubrange(size...)
                } else {
                    image.append(contentsOf: repeatElement(0, count: size - image.count))
                }
            }
        }
    }

    private struct File {
        var synced: [UInt8]
        var pending: [Pending] = []
        var nameIsDurable: Bool
    }

    private struct State {
        var files: [String: File] = [:]
        var cut = false
    }

    private let state = Mutex(State())

    /// From now on the machine is off.
    func cutPower() { state.withLock { $0.cut = true } }

    /// Rewrites every file the WAL touched as the disk holds it after the cut (see the type's comment).
    func leaveFilesAsAfterTheCut(keepingUnsynced generator: inout SplitMix64?) throws {
        let files = state.withLock { $0.files }
        for (path, file) in files {
            guard file.nameIsDurable else {
                unlink(path)
                continue
            }
            var image = file.synced
            if var random = generator, !file.pending.isEmpty {
                let landed = Int(random.next() % UInt64(file.pending.count + 1))
                for pending in file.pending.prefix(landed) { pending.apply(to: &image) }
                if landed < file.pending.count, case .write(let offset, let bytes) = file.pending[landed] {
                    let sectors = bytes.count / 512
                    let torn = sectors == 0 ? 0 : Int(random.next() % UInt64(sectors)) * 512
                    Pending.write(offset: offset, bytes: Array(bytes.prefix(torn))).apply(to: &image)
                }
                generator = random
            }
            let fd = try FileSystem.open(path, flags: O_WRONLY | O_TRUNC)
            defer { close(fd) }
            try image.withUnsafeBytes { try FileSystem.write(fd: fd, $0, at: 0, path: path) }
        }
    }

    private func check(_ path: String) throws {
        if state.withLock({ $0.cut }) { throw StoreError.io(path: path, operation: "power cut", errno: EIO) }
    }

    func open(_ path: String, flags: Int32, direct: Bool) throws -> (fd: Int32, isDirect: Bool) {
        try check(path)
        let existed = FileSystem.exists(path)
        let before = existed ? try FileSystem.readAll(path) : []
        let opened = try SystemFiles().open(path, flags: flags, direct: direct)
        state.withLock { state in
            if state.files[path] == nil {
                // A file found at open is as its last user left it: durable (a test starts each phase after one).
                state.files[path] = File(synced: before, nameIsDurable: existed)
            }
            if flags & O_TRUNC != 0 { state.files[path]!.pending.append(.truncate(0)) }
        }
        return opened
    }

    func write(fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, path: String) throws {
        try check(path)
        state.withLock { $0.files[path]?.pending.append(.write(offset: offset, bytes: Array(bytes))) }
        try SystemFiles().write(fd: fd, bytes, at: offset, path: path)
    }

    func truncate(fd: Int32, to size: Int, path: String) throws {
        try check(path)
        state.withLock { $0.files[path]?.pending.append(.truncate(size)) }
        try SystemFiles().truncate(fd: fd, to: size, path: path)
    }

    func dataSync(fd: Int32, path: String) throws {
        try check(path)
        try SystemFiles().dataSync(fd: fd, path: path)
        state.withLock { state in
            guard var file = state.files[path] else { return }
            for pending in file.pending { pending.apply(to: &file.synced) }
            file.pending = []
            state.files[path] = file
        }
    }

    func syncDirectory(_ path: String) throws {
        try check(path)
        try SystemFiles().syncDirectory(path)
        state.withLock { state in
            for name in state.files.keys where name.hasPrefix(path + "/") { state.files[name]!.nameIsDurable = true }
        }
    }
}
