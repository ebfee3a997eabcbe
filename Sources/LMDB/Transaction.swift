import CLMDB

/// An LMDB transaction, lent to the closure of `Environment.read` or `Environment.write`.
///
/// Valid only inside that closure: the environment commits or aborts it when the closure returns, and
/// no public API lets a caller begin or end one. Byte buffers handed to closures point into the map and
/// are valid only inside them.
public struct Transaction {
    let handle: OpaquePointer
    public let isReadOnly: Bool

    init(environment: Environment, readOnly: Bool) throws(LMDBError) {
        try self.init(environment: environment.handle, parent: nil, readOnly: readOnly)
    }

    private init(environment: OpaquePointer, parent: OpaquePointer?, readOnly: Bool) throws(LMDBError) {
        var txn: OpaquePointer?
        try check(mdb_txn_begin(environment, parent, readOnly ? UInt32(MDB_RDONLY) : 0, &txn), "mdb_txn_begin")
        self.handle = txn!
        self.isReadOnly = readOnly
    }

    /// Runs `body` in a transaction nested in this write transaction: its changes join this one when
    /// `body` returns and vanish when it throws, while this transaction stays usable.
    @discardableResult
    public func nested<T>(_ body: (Transaction) throws -> T) throws -> T {
        let child = try Transaction(environment: mdb_txn_env(handle), parent: handle, readOnly: false)
        let result: T
        do {
            result = try body(child)
        } catch {
            child.abort()
            throw error
        }
        try child.commit()
        return result
    }

    func commit() throws(LMDBError) { try check(mdb_txn_commit(handle), "mdb_txn_commit") }
    func abort() { mdb_txn_abort(handle) }

    func openDatabase(_ name: String) throws(LMDBError) -> Database {
        var dbi: MDB_dbi = 0
        try check(mdb_dbi_open(handle, name, UInt32(MDB_CREATE), &dbi), "mdb_dbi_open")
        return Database(dbi: dbi)
    }

    /// Calls `body` with the value stored under `key`, or returns nil when there is none.
    public func withValue<T>(
        _ db: Database, key: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> T
    ) throws -> T? {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var value = MDB_val()
        let rc = mdb_get(handle, db.dbi, &k, &value)
        if rc == MDB_NOTFOUND { return nil }
        try check(rc, "mdb_get")
        return try body(UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size))
    }

    public func withValue<T>(_ db: Database, key: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T? {
        try key.withUnsafeBytes { try withValue(db, key: $0, body) }
    }

    /// The value stored under `key`, copied out of the map.
    public func get(_ db: Database, key: [UInt8]) throws -> [UInt8]? {
        try withValue(db, key: key) { Array($0) }
    }

    /// Stores `value` under `key`. With `.noOverwrite`, returns false when the key already exists.
    @discardableResult
    public func put(
        _ db: Database, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, flags: PutFlags = []
    ) throws(LMDBError) -> Bool {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        let rc = mdb_put(handle, db.dbi, &k, &v, flags.rawValue)
        if rc == MDB_KEYEXIST, flags.contains(.noOverwrite) { return false }
        try check(rc, "mdb_put")
        return true
    }

    @discardableResult
    public func put(_ db: Database, key: [UInt8], value: [UInt8], flags: PutFlags = []) throws(LMDBError) -> Bool {
        try key.withUnsafeBytes { k in
            value.withUnsafeBytes { v in Result { () throws(LMDBError) in try put(db, key: k, value: v, flags: flags) }
            }
        }.get()
    }

    /// Stores a value of `count` bytes under `key`, written in place by `fill` (`MDB_RESERVE`: LMDB makes
    /// room for it in the page, so the bytes are written once and never copied). With `.append`, `key` must
    /// sort after every key in `db` (else `MDB_KEYEXIST`).
    public func put(
        _ db: Database, key: UnsafeRawBufferPointer, reserving count: Int, flags: PutFlags = [],
        _ fill: (UnsafeMutableRawBufferPointer) -> Void
    ) throws(LMDBError) {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var value = MDB_val(mv_size: count, mv_data: nil)
        try check(mdb_put(handle, db.dbi, &k, &value, UInt32(MDB_RESERVE) | flags.rawValue), "mdb_put")
        fill(UnsafeMutableRawBufferPointer(start: value.mv_data, count: count))
    }

    /// Deletes `key`; returns false when it was absent.
    @discardableResult
    public func delete(_ db: Database, key: UnsafeRawBufferPointer) throws(LMDBError) -> Bool {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        let rc = mdb_del(handle, db.dbi, &k, nil)
        if rc == MDB_NOTFOUND { return false }
        try check(rc, "mdb_del")
        return true
    }

    @discardableResult
    public func delete(_ db: Database, key: [UInt8]) throws(LMDBError) -> Bool {
        try key.withUnsafeBytes { k in Result { () throws(LMDBError) in try delete(db, key: k) } }.get()
    }

    /// Opens an existing named database, or returns nil when there is none (for read-only environments).
    public func openExistingDatabase(_ name: String) throws(LMDBError) -> Database? {
        var dbi: MDB_dbi = 0
        let rc = mdb_dbi_open(handle, name, 0, &dbi)
        if rc == MDB_NOTFOUND { return nil }
        try check(rc, "mdb_dbi_open")
        return Database(dbi: dbi)
    }

    /// Number of entries in `db`.
    public func count(_ db: Database) throws(LMDBError) -> Int {
        var stat = MDB_stat()
        try check(mdb_stat(handle, db.dbi, &stat), "mdb_stat")
        return stat.ms_entries
    }

    /// Visits entries in key order from the first key ≥ `start` (or the first key) while `body` returns true.
    public func scan(
        _ db: Database, from start: [UInt8]? = nil,
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(handle, db.dbi, &cursor), "mdb_cursor_open")
        defer { mdb_cursor_close(cursor) }
        var key = MDB_val()
        var value = MDB_val()
        var rc: Int32
        if let start {
            rc = start.withUnsafeBytes { startBytes in
                key = MDB_val(
                    mv_size: startBytes.count, mv_data: UnsafeMutableRawPointer(mutating: startBytes.baseAddress))
                return mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE)
            }
        } else {
            rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST)
        }
        while rc == MDB_SUCCESS {
            let keep = try body(
                UnsafeRawBufferPointer(start: key.mv_data, count: key.mv_size),
                UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size))
            if !keep { return }
            rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)
        }
        if rc != MDB_NOTFOUND { try check(rc, "mdb_cursor_get") }
    }
}
