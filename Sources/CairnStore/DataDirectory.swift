/// The layout of a data directory:
///
///     <data-dir>/LOCK        held while a server or an offline tool uses the directory
///     <data-dir>/FORMAT      the rules its log was written under (`DataFormat`)
///     <data-dir>/LOADING     while an offline load fills it (`Store.importTree`): unfinished
///     <data-dir>/store/      the LMDB environment (data.mdb, lock.mdb)
///     <data-dir>/wal/        WAL segments, named by their first zxid
///     <data-dir>/snapshots/  compact LMDB copies named by zxid, each with a manifest
public struct DataDirectory: Sendable, Hashable {
    public let path: String

    public init(_ path: String) {
        self.path = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }

    public var lockFile: String { path + "/LOCK" }
    var formatFile: String { path + "/FORMAT" }
    var loadingMarker: String { path + "/LOADING" }
    public var store: String { path + "/store" }
    public var storeData: String { store + "/data.mdb" }
    public var storeLock: String { store + "/lock.mdb" }
    public var wal: String { path + "/wal" }
    public var snapshots: String { path + "/snapshots" }

    /// Creates the directory and its subdirectories when absent.
    func create() throws {
        for directory in [path, store, wal, snapshots] { try FileSystem.makeDirectory(directory) }
    }
}
