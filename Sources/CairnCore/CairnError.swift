/// Every error a Cairn operation can end in. Each case is one protocol error code (`code`).
public indirect enum CairnError: Error, Hashable, Sendable, CustomStringConvertible {
    case noNode(ZNodePath)
    case nodeExists(ZNodePath)
    case badVersion(ZNodePath, expected: Int32, actual: Int32)
    case notEmpty(ZNodePath)
    case noChildrenForEphemerals(ZNodePath)
    case invalidPath(String, reason: String)
    case badArguments(String)
    case tooLarge(String)
    case sessionExpired(SessionID)
    /// The history asked for was purged; `oldestAvailable` is the first zxid still retained.
    case compacted(requested: Zxid, oldestAvailable: Zxid)
    /// The store cannot take writes (disk full, map limit reached, fsync failed); reads still work.
    case unavailable(String)
    case `internal`(String)
    /// Not JSON, not an object, or a field of the wrong type.
    case malformed(String)
    case unknownOp(String)
    /// An op other than `connect` arrived before the connection had a session.
    case sessionRequired
    /// Operation `index` of a multi failed with `cause`; nothing of the multi was applied.
    case multiFailed(index: Int, cause: CairnError)

    /// The protocol's snake_case error code.
    public var code: String {
        switch self {
        case .noNode: "no_node"
        case .nodeExists: "node_exists"
        case .badVersion: "bad_version"
        case .notEmpty: "not_empty"
        case .noChildrenForEphemerals: "no_children_for_ephemerals"
        case .invalidPath: "invalid_path"
        case .badArguments: "bad_arguments"
        case .tooLarge: "too_large"
        case .sessionExpired: "session_expired"
        case .compacted: "compacted"
        case .unavailable: "unavailable"
        case .internal: "internal"
        case .malformed: "malformed"
        case .unknownOp: "unknown_op"
        case .sessionRequired: "session_required"
        case .multiFailed(_, let cause): cause.code
        }
    }

    public var description: String {
        switch self {
        case .noNode(let path): "no node at \(path)"
        case .nodeExists(let path): "a node already exists at \(path)"
        case .badVersion(let path, let expected, let actual):
            "version mismatch at \(path): expected \(expected), node is at \(actual)"
        case .notEmpty(let path): "\(path) has children"
        case .noChildrenForEphemerals(let path): "\(path) is ephemeral and cannot have children"
        case .invalidPath(let path, let reason): "invalid path \(path.debugDescription): \(reason)"
        case .badArguments(let message): message
        case .tooLarge(let message): message
        case .sessionExpired(let id): "session \(id) has expired or does not exist"
        case .compacted(let requested, let oldest):
            "history after zxid \(requested) was purged; the oldest zxid still available is \(oldest)"
        case .unavailable(let message): "the store cannot take writes: \(message)"
        case .internal(let message): "internal error: \(message)"
        case .malformed(let message): "malformed request: \(message)"
        case .unknownOp(let op): "unknown op \(op.debugDescription)"
        case .sessionRequired: "the first op on a connection must be connect"
        case .multiFailed(let index, let cause): "multi op \(index) failed: \(cause)"
        }
    }
}
