import CLMDB
import Glibc

/// An open LMDB environment.
///
/// `@unchecked Sendable`: an `MDB_env` opened with `MDB_NOTLS` may run read transactions on any thread at
/// once and one write transaction at a time. Read transactions run under `resizeLock` held shared and
/// `setMapSize` takes it exclusively, which is LMDB's rule that the map only changes with no transaction
/// open in the process. The caller keeps write transactions on one thread (Cairn's writer thread).
public final class Environment: @unchecked Sendable {
    /// Static facts about an environment.
    public struct Info: Sendable {
        public var mapSize: Int
        /// Bytes of the map in use (last page number + 1, times the page size).
        public var usedBytes: Int
        public var pageSize: Int
    }

    let handle: OpaquePointer
    private let resizeLock = ResizeLock()
    /// The path the environment was opened at.
    public let path: String

    /// Opens (creating the files when absent) an environment at `path`.
    public init(
        path: String, flags: EnvironmentFlags = [], mapSize: Int, maxDatabases: UInt32 = 16, maxReaders: UInt32 = 256
    ) throws(LMDBError) {
        var env: OpaquePointer?
        try check(mdb_env_create(&env), "mdb_env_create")
        guard let env else { throw LMDBError(code: ENOMEM, call: "mdb_env_create") }
        do {
            try check(mdb_env_set_maxdbs(env, maxDatabases), "mdb_env_set_maxdbs")
            try check(mdb_env_set_maxreaders(env, maxReaders), "mdb_env_set_maxreaders")
            try check(mdb_env_set_mapsize(env, mapSize), "mdb_env_set_mapsize")
            try check(mdb_env_open(env, path, flags.rawValue, 0o600), "mdb_env_open")
        } catch {
            mdb_env_close(env)
            throw error
        }
        self.handle = env
        self.path = path
    }

    deinit { mdb_env_close(handle) }

    /// Clears reader slots left by dead processes; returns how many were cleared.
    @discardableResult
    public func checkReaders() throws(LMDBError) -> Int {
        var dead: Int32 = 0
        try check(mdb_reader_check(handle, &dead), "mdb_reader_check")
        return Int(dead)
    }

    /// Flushes LMDB's buffers to disk (needed because the environment is opened without per-commit sync).
    public func sync() throws(LMDBError) {
        try check(mdb_env_sync(handle, 1), "mdb_env_sync")
    }

    /// The data file's descriptor (`mdb_env_get_fd`), for hints about its writeback; LMDB owns it.
    public var dataFileDescriptor: Int32 {
        var fd: Int32 = -1
        mdb_env_get_fd(handle, &fd)
        return fd
    }

    public var info: Info {
        var info = MDB_envinfo()
        var stat = MDB_stat()
        mdb_env_info(handle, &info)
        mdb_env_stat(handle, &stat)
        return Info(
            mapSize: info.me_mapsize, usedBytes: (info.me_last_pgno + 1) * Int(stat.ms_psize),
            pageSize: Int(stat.ms_psize))
    }

    /// Changes the map size. Waits until no read transaction is open; the caller holds no write transaction.
    @available(*, noasync)
    public func setMapSize(_ bytes: Int) throws(LMDBError) {
        let rc = resizeLock.exclusive { mdb_env_set_mapsize(handle, bytes) }
        try check(rc, "mdb_env_set_mapsize")
    }

    /// Writes a consistent copy of the environment to `fd`, compacted. Writes may go on meanwhile.
    @available(*, noasync)
    public func copy(toFileDescriptor fd: Int32, compact: Bool = true) throws(LMDBError) {
        let rc = resizeLock.shared { mdb_env_copyfd2(handle, fd, compact ? UInt32(MDB_CP_COMPACT) : 0) }
        try check(rc, "mdb_env_copyfd2")
    }

    /// Opens (creating) a named database. Call once at start, before other transactions use it.
    @available(*, noasync)
    public func openDatabase(_ name: String) throws -> Database {
        try write { txn in try txn.openDatabase(name) }
    }

    /// Runs `body` in a read transaction; the view it sees is consistent and never waits for the writer.
    @available(*, noasync)
    public func read<T>(_ body: (Transaction) throws -> T) throws -> T {
        try resizeLock.shared {
            let txn = try Transaction(environment: self, readOnly: true)
            defer { txn.abort() }
            return try body(txn)
        }
    }

    /// Runs `body` in a write transaction and commits it when `body` returns; aborts it when `body` throws.
    @available(*, noasync)
    @discardableResult
    public func write<T>(_ body: (Transaction) throws -> T) throws -> T {
        try resizeLock.shared {
            let txn = try Transaction(environment: self, readOnly: false)
            let result: T
            do {
                result = try body(txn)
            } catch {
                txn.abort()
                throw error
            }
            try txn.commit()
            return result
        }
    }
}

/// A database handle within an environment (`MDB_dbi`).
public struct Database: Sendable, Hashable {
    let dbi: MDB_dbi
}

/// A pthread read-write lock: transactions hold it shared, map resizing exclusively.
private final class ResizeLock: @unchecked Sendable {
    // @unchecked: the pthread lock is the synchronization; it lives at a stable heap address.
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    init() {
        lock = .allocate(capacity: 1)
        pthread_rwlock_init(lock, nil)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    func shared<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    func exclusive<T>(_ body: () -> T) -> T {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return body()
    }
}
