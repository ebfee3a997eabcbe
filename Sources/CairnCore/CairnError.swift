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
    /// The caller lacks the permission the op needs (the node's ACL, or operator rights for a server-level op).
    case noAuth(String)
    /// An ACL that cannot be stored: empty, an unknown scheme, a malformed id, or `auth` from a caller with no
    /// authenticated principal.
    case invalidACL(String)
    /// An `auth` that could not be taken: an unknown scheme, or credentials not in the scheme's form.
    case authFailed(String)
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

    /// The protocol's error code (a multi reports its failing op's).
    public var errorCode: ErrorCode {
        switch self {
        case .noNode: .noNode
        case .nodeExists: .nodeExists
        case .badVersion: .badVersion
        case .notEmpty: .notEmpty
        case .noChildrenForEphemerals: .noChildrenForEphemerals
        case .invalidPath: .invalidPath
        case .badArguments: .badArguments
        case .tooLarge: .tooLarge
        case .sessionExpired: .sessionExpired
        case .compacted: .compacted
        case .noAuth: .noAuth
        case .invalidACL: .invalidACL
        case .authFailed: .authFailed
        case .unavailable: .unavailable
        case .internal: .internal
        case .malformed: .malformed
        case .unknownOp: .unknownOp
        case .sessionRequired: .sessionRequired
        case .multiFailed(_, let cause): cause.errorCode
        }
    }

    /// The protocol's snake_case error code, as sent on the wire.
    public var code: String { errorCode.rawValue }

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
        case .noAuth(let message): "not authorized: \(message)"
        case .invalidACL(let message): "invalid ACL: \(message)"
        case .authFailed(let message): "authentication failed: \(message)"
        case .unavailable(let message): "the store cannot take writes: \(message)"
        case .internal(let message): "internal error: \(message)"
        case .malformed(let message): "malformed request: \(message)"
        case .unknownOp(let op): "unknown op \(op.debugDescription)"
        case .sessionRequired: "the first op on a connection must be connect"
        case .multiFailed(let index, let cause): "multi op \(index) failed: \(cause)"
        }
    }
}
