import CLMDB

/// `mdb_env_open` flags. C imports them as `Int32` while the API takes `UInt32`; this wraps them once.
public struct EnvironmentFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let noSubdirectory = EnvironmentFlags(rawValue: UInt32(MDB_NOSUBDIR))
    public static let noSync = EnvironmentFlags(rawValue: UInt32(MDB_NOSYNC))
    public static let noMetaSync = EnvironmentFlags(rawValue: UInt32(MDB_NOMETASYNC))
    public static let readOnly = EnvironmentFlags(rawValue: UInt32(MDB_RDONLY))
    /// Read transactions are not tied to threads: required when a read may run on any thread.
    public static let noThreadLocalStorage = EnvironmentFlags(rawValue: UInt32(MDB_NOTLS))
    /// No lock file: for a read-only look at a file no other process uses (a snapshot copy).
    public static let noLock = EnvironmentFlags(rawValue: UInt32(MDB_NOLOCK))
    public static let noReadAhead = EnvironmentFlags(rawValue: UInt32(MDB_NORDAHEAD))
}

/// `mdb_put` flags.
public struct PutFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let noOverwrite = PutFlags(rawValue: UInt32(MDB_NOOVERWRITE))
    /// The key sorts after every key already stored: LMDB skips the search and, when the last page is full,
    /// starts a new one instead of splitting it in half, so pages filled in key order stay full.
    public static let append = PutFlags(rawValue: UInt32(MDB_APPEND))
}
