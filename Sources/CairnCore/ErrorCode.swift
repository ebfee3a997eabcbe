/// The protocol's error codes (docs/protocol.md): what `CairnError` cases map onto, and what clients decode.
public enum ErrorCode: String, Sendable, Hashable, CaseIterable {
    case noNode = "no_node"
    case nodeExists = "node_exists"
    case badVersion = "bad_version"
    case notEmpty = "not_empty"
    case noChildrenForEphemerals = "no_children_for_ephemerals"
    case invalidPath = "invalid_path"
    case badArguments = "bad_arguments"
    case malformed
    case unknownOp = "unknown_op"
    case tooLarge = "too_large"
    case sessionRequired = "session_required"
    case sessionExpired = "session_expired"
    case compacted
    case noAuth = "no_auth"
    case invalidACL = "invalid_acl"
    case authFailed = "auth_failed"
    case unavailable
    case `internal`
}
