import CairnCore
import LMDB

/// Why a store could not open or an offline operation failed. Each message says what happened, where,
/// and what to do.
public enum StoreError: Error, Sendable, CustomStringConvertible {
    /// Another process holds the data directory.
    case locked(dataDirectory: String, holder: String)
    /// A WAL record that is not a torn tail is damaged.
    case corruptWAL(file: String, offset: Int, reason: String)
    /// zxids are not consecutive.
    case walGap(file: String, offset: Int, expected: Zxid, found: Zxid)
    /// The WAL ends before the store's applied zxid, or does not reach back to it.
    case walMissing(String)
    case corruptSnapshot(file: String, reason: String)
    /// No store, no verifiable snapshot and a WAL that does not start at zxid 1.
    case noRecoverableState(String)
    case io(path: String, operation: String, errno: Int32)
    /// An offline operation needs more free space than the filesystem has; nothing was changed.
    case notEnoughSpace(path: String, needed: Int, available: Int, purpose: String)
    case lmdb(LMDBError, path: String)

    /// The repair command a WAL error points to.
    static func repairHint(dataDirectory: String) -> String {
        "run `cairnctl wal repair --data-dir \(dataDirectory)` to cut the log at the damage (the cut bytes are kept in a side file)"
    }

    public var description: String {
        switch self {
        case .locked(let dir, let holder):
            "data directory \(dir) is in use by another process (\(holder)); stop it or choose another --data-dir"
        case .corruptWAL(let file, let offset, let reason):
            "WAL file \(file) is damaged at byte offset \(offset): \(reason); the server will not start on a damaged log. "
                + Self.repairHint(dataDirectory: dataDirectory(ofWALFile: file))
        case .walGap(let file, let offset, let expected, let found):
            "WAL file \(file) at byte offset \(offset) holds zxid \(found) where \(expected) was expected (records are missing). "
                + Self.repairHint(dataDirectory: dataDirectory(ofWALFile: file))
        case .walMissing(let message): "WAL files are missing: \(message)"
        case .corruptSnapshot(let file, let reason): "snapshot \(file) is damaged: \(reason)"
        case .noRecoverableState(let message): "cannot recover the store: \(message)"
        case .io(let path, let operation, let errno):
            "\(operation) \(path) failed: \(String(cString: strerror(errno))) (errno \(errno))"
        case .lmdb(let error, let path): "LMDB at \(path): \(error)"
        case .notEnoughSpace(let path, let needed, let available, let purpose):
            "\(purpose) needs \(needed) bytes free on the filesystem of \(path), which has \(available); nothing was changed. "
                + "Free that much space and run it again"
        }
    }

    private func dataDirectory(ofWALFile file: String) -> String {
        var parts = file.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count >= 2 { parts.removeLast(2) }
        let dir = parts.joined(separator: "/")
        return dir.isEmpty ? "." : dir
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
