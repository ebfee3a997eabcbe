import CLMDB
import Glibc

/// A failed LMDB call: the C return code and the call that returned it.
public struct LMDBError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The LMDB or errno code.
    public let code: Int32
    /// The C function that failed, e.g. `mdb_txn_commit`.
    public let call: String

    public init(code: Int32, call: String) {
        self.code = code
        self.call = call
    }

    /// The map is full: abort the transaction, grow the map with no transaction open, retry.
    public var isMapFull: Bool { code == MDB_MAP_FULL }
    /// The environment's files are not a usable LMDB environment.
    public var isInvalidEnvironment: Bool {
        code == MDB_INVALID || code == MDB_VERSION_MISMATCH || code == MDB_CORRUPTED || code == MDB_PAGE_NOTFOUND
    }
    /// The disk has no room left.
    public var isDiskFull: Bool { code == ENOSPC }

    public var description: String {
        "\(call) failed: \(String(cString: mdb_strerror(code))) (\(code))"
    }
}

@inline(__always)
func check(_ rc: Int32, _ call: String) throws(LMDBError) {
    if rc != MDB_SUCCESS { throw LMDBError(code: rc, call: call) }
}
