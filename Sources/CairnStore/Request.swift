import CairnCore

/// A change asked of the store. Requests that succeed become one `Change` each, with the next zxid.
public enum Request: Sendable, Hashable {
    case operation(Operation)
    /// All or nothing; the ops see each other's effects in order.
    case multi([Operation])
    case createSession(id: SessionID, timeoutMilliseconds: Int64, passwordHash: [UInt8])
    /// Ends a session (closed by its client, or expired): its ephemerals are deleted in the same change.
    case closeSession(SessionID)
    /// Deletes containers that had children and have none left, and TTL nodes with no children whose
    /// last modification is older than their TTL at `now` (ms since the epoch). No change when none is due.
    case reap(now: Int64)
}

/// A request that was made durable: its change's zxid and the result of each operation (one for a
/// single operation, one per op for a multi, none for session changes and reaping).
public struct Committed: Sendable, Hashable {
    /// The change's zxid; for a request that changed nothing, the zxid the store was at.
    public var zxid: Zxid
    public var results: [OperationResult]
    /// The change itself; nil when the request changed nothing.
    public var change: Change?

    public init(zxid: Zxid, results: [OperationResult], change: Change? = nil) {
        self.zxid = zxid
        self.results = results
        self.change = change
    }
}
