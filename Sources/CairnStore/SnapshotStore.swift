import CairnCore
import LMDB
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// A snapshot on disk: `<zxid, 20 digits>.mdb` (a compact LMDB copy) and its manifest
/// `<zxid>.manifest`, whose presence means the copy is complete.
public struct SnapshotInfo: Hashable, Sendable {
    public init(zxid: Zxid, size: Int, checksum: UInt32, created: Int64, path: String) {
        self.zxid = zxid
        self.size = size
        self.checksum = checksum
        self.created = created
        self.path = path
    }

    /// The last zxid the copy holds.
    public var zxid: Zxid
    public var size: Int
    /// CRC-32C of the whole `.mdb` file.
    public var checksum: UInt32
    /// Milliseconds since the epoch.
    public var created: Int64
    /// Path of the `.mdb` file.
    public var path: String
}

/// The snapshots of a data directory: taking them while writes go on, verifying, restoring, pruning.
struct SnapshotStore: Sendable {
    let directory: String
    let logger: Logger

    /// Snapshots with a manifest, newest first.
    func list() throws -> [SnapshotInfo] {
        try FileSystem.list(directory).filter { $0.hasSuffix(".manifest") }.compactMap { name in
            manifest(at: directory + "/" + name)
        }.sorted { $0.zxid > $1.zxid }
    }

    /// Copies `environment` (consistent, while writes continue) into a new snapshot: compacted, or when `compact` is
    /// false page for page (faster, for a store with no free pages to drop: a fresh import).
    @available(*, noasync)
    func take(_ environment: Environment, compact: Bool = true) throws -> SnapshotInfo {
        let temporary = directory + "/.tmp-\(getpid())-\(SystemClock.monotonicMilliseconds()).mdb"
        defer { try? FileSystem.remove(temporary) }
        let fd = try FileSystem.open(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
        defer { close(fd) }
        let start = SystemClock.monotonicMilliseconds()
        // LMDB writes the copy into a pipe; it reaches the file written behind (see `WriteBehindFile`), its
        // checksum taken on the way.
        var file = WriteBehindFile(fd: fd, path: temporary)
        try file.appendAll { pipe in try environment.copy(toFileDescriptor: pipe, compact: compact) }
        try file.sync()
        let zxid = try Self.appliedZxid(ofCopy: temporary)
        let info = SnapshotInfo(
            zxid: zxid, size: file.size, checksum: file.checksum.value, created: Int64(SystemClock.wallMilliseconds()),
            path: path(zxid))
        try FileSystem.rename(temporary, info.path)
        try FileSystem.writeAtomically(Array(manifestText(info).utf8), to: manifestPath(zxid), directory: directory)
        logger.info(
            "snapshot written",
            metadata: [
                "zxid": "\(zxid)", "snapshot.bytes": "\(info.size)",
                "duration.ms": "\(SystemClock.monotonicMilliseconds() - start)",
            ])
        return info
    }

    /// Deletes the temporary files of snapshots a kill interrupted: the copy `.tmp-<pid>-<ms>.mdb` and the
    /// `<name>.tmp` of a manifest or an adopted file being written. None is ever a snapshot (only a renamed file
    /// is), and a SIGKILL skips the `defer` that would have removed it. Run at open, with the directory locked,
    /// so no snapshot is being written.
    func removeInterruptedFiles() throws {
        let names = try FileSystem.list(directory).filter {
            ($0.hasPrefix(".tmp-") && $0.hasSuffix(".mdb")) || $0.hasSuffix(".tmp")
        }
        guard !names.isEmpty else { return }
        var bytes = 0
        for name in names {
            bytes += (try? FileSystem.size(directory + "/" + name)) ?? 0
            try FileSystem.remove(directory + "/" + name)
        }
        logger.info(
            "removed the temporary files of interrupted snapshots",
            metadata: [
                "snapshot.files": "\(names.joined(separator: ", "))", "snapshot.count": "\(names.count)",
                "snapshot.bytes": "\(bytes)",
            ])
    }

    /// Adds a snapshot file made elsewhere (a downloaded backup), with a manifest of its own.
    @available(*, noasync)
    func adopt(_ file: String) throws -> SnapshotInfo {
        let zxid = try Self.appliedZxid(ofCopy: file)
        try FileSystem.copy(file, to: path(zxid), directory: directory)
        let info = SnapshotInfo(
            zxid: zxid, size: try FileSystem.size(path(zxid)), checksum: try Self.checksum(path(zxid)),
            created: Int64(SystemClock.wallMilliseconds()), path: path(zxid))
        try FileSystem.writeAtomically(Array(manifestText(info).utf8), to: manifestPath(zxid), directory: directory)
        return info
    }

    /// Throws `StoreError.corruptSnapshot` unless the file has the manifest's size and checksum.
    func verify(_ info: SnapshotInfo) throws {
        let size = try FileSystem.size(info.path)
        guard size == info.size else {
            throw StoreError.corruptSnapshot(
                file: info.path, reason: "size is \(size) bytes, the manifest says \(info.size)")
        }
        let checksum = try Self.checksum(info.path)
        guard checksum == info.checksum else {
            throw StoreError.corruptSnapshot(
                file: info.path,
                reason:
                    "checksum is \(String(checksum, radix: 16)), the manifest says \(String(info.checksum, radix: 16))")
        }
    }

    /// Deletes all but the newest `keep` snapshots; returns the zxid of the oldest kept one.
    func prune(keep: Int) throws -> Zxid? {
        let all = try list()
        for doomed in all.dropFirst(max(keep, 1)) {
            try FileSystem.remove(manifestPath(doomed.zxid))
            try FileSystem.remove(doomed.path)
            logger.info("snapshot removed by retention", metadata: ["zxid": "\(doomed.zxid)"])
        }
        try FileSystem.syncDirectory(directory)
        return all.prefix(max(keep, 1)).last?.zxid
    }

    func path(_ zxid: Zxid) -> String { directory + "/" + Self.stem(zxid) + ".mdb" }
    func manifestPath(_ zxid: Zxid) -> String { directory + "/" + Self.stem(zxid) + ".manifest" }

    private static func stem(_ zxid: Zxid) -> String {
        let digits = String(zxid)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }

    func manifestText(_ info: SnapshotInfo) -> String { info.manifest }

    /// The snapshot a manifest describes; its data file is `<zxid>.mdb` here unless `dataFile` says otherwise.
    func manifest(at path: String, dataFile: String? = nil) -> SnapshotInfo? {
        guard let bytes = try? FileSystem.readAll(path) else { return nil }
        let fields = KeyValueText.parse(String(decoding: bytes, as: UTF8.self))
        guard let zxid = fields["zxid"].flatMap({ Zxid($0) }), let size = fields["size"].flatMap({ Int($0) }),
            let checksum = fields["crc32c"].flatMap({ UInt32($0) }),
            let created = fields["created"].flatMap({ Int64($0) })
        else {
            logger.warning("unreadable snapshot manifest ignored", metadata: ["snapshot.manifest": "\(path)"])
            return nil
        }
        return SnapshotInfo(
            zxid: zxid, size: size, checksum: checksum, created: created, path: dataFile ?? self.path(zxid))
    }

    static func checksum(_ path: String) throws -> UInt32 {
        var crc = CRC32C()
        try FileSystem.forEachChunk(of: path) { crc.update($0) }
        return crc.value
    }

    /// The applied zxid recorded inside an LMDB file (a snapshot copy), opened read-only without a lock file.
    @available(*, noasync)
    static func appliedZxid(ofCopy path: String) throws -> Zxid {
        let environment = try Environment(
            path: path, flags: [.noSubdirectory, .readOnly, .noLock, .noThreadLocalStorage],
            mapSize: max(try FileSystem.size(path), 1 << 20))
        return try environment.read { txn in
            guard let meta = try txn.openExistingDatabase("meta") else { return 0 }
            return try txn.withValue(meta, key: MetaKey.appliedZxid) { $0.loadUnaligned(as: UInt64.self) } ?? 0
        }
    }
}

extension Store {
    /// Streams a snapshot's file in chunks (for download); the bytes are checked against the manifest's
    /// checksum by whoever receives them.
    public func readSnapshot(_ info: SnapshotInfo, chunkSize: Int, _ body: ([UInt8]) throws -> Void) throws {
        var chunk: [UInt8] = []
        chunk.reserveCapacity(chunkSize)
        try FileSystem.forEachChunk(of: info.path) { bytes in
            var rest = bytes[...]
            while !rest.isEmpty {
                let take = min(chunkSize - chunk.count, rest.count)
                chunk.append(contentsOf: rest.prefix(take))
                rest = rest.dropFirst(take)
                if chunk.count == chunkSize {
                    try body(chunk)
                    chunk.removeAll(keepingCapacity: true)
                }
            }
        }
        if !chunk.isEmpty { try body(chunk) }
    }
}

extension Store {
    /// Makes a new data directory from a snapshot file (e.g. one `cairnctl snapshot save` downloaded):
    /// its size and checksum must match `<file>.manifest` when there is one; the file must open as a Cairn store; it is added as the directory's snapshot, the store is
    /// recovered from it, and every node is read back. Returns the snapshot's zxid.
    @available(*, noasync)
    public static func restore(snapshotFile: String, into directory: DataDirectory, logger: Logger) throws -> Zxid {
        if FileSystem.exists(directory.storeData) || !((try? WALSegment.list(in: directory.wal)) ?? []).isEmpty {
            throw StoreError.noRecoverableState(
                "\(directory.path) already holds a store or a WAL; restore into a new, empty data directory")
        }
        let manifestFile = snapshotFile + ".manifest"
        if FileSystem.exists(manifestFile) {
            let snapshots = SnapshotStore(directory: ".", logger: logger)
            guard let info = snapshots.manifest(at: manifestFile, dataFile: snapshotFile) else {
                throw StoreError.corruptSnapshot(file: manifestFile, reason: "the manifest is unreadable")
            }
            try snapshots.verify(info)
        } else {
            logger.warning(
                "no manifest next to the snapshot: only its structure can be checked",
                metadata: ["snapshot.file": "\(snapshotFile)"])
        }
        let zxid: Zxid
        do {
            zxid = try SnapshotStore.appliedZxid(ofCopy: snapshotFile)
        } catch {
            throw StoreError.corruptSnapshot(file: snapshotFile, reason: "it does not open as a Cairn store (\(error))")
        }
        try directory.create()
        do {
            let lock = try DataDirectoryLock(directory)
            defer { lock.release(clean: true) }
            _ = try SnapshotStore(directory: directory.snapshots, logger: logger).adopt(snapshotFile)
        }
        let store = try Store.open(Configuration(dataDirectory: directory.path), logger: logger)
        defer { store.close() }
        guard store.recovery.source == .snapshot(zxid: zxid) else {
            throw StoreError.corruptSnapshot(file: snapshotFile, reason: "the restored store did not come from it")
        }
        try store.read { view in try view.visit { _ in } }
        return zxid
    }
}

extension SnapshotInfo {
    /// The manifest's text (`cairn-snapshot 1`, zxid, size, crc32c, created), as written next to a
    /// snapshot file: `cairnctl snapshot save` writes one beside what it downloads.
    public var manifest: String {
        "cairn-snapshot 1\nzxid=\(zxid)\nsize=\(size)\ncrc32c=\(checksum)\ncreated=\(created)\n"
    }
}
