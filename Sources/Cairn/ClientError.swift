import CairnCore
import CairnProtocol

/// Why a client call failed: the server's error (one case per protocol code, via `ErrorCode`), or the
/// connection.
public enum ClientError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The server answered with an error. `index` names a multi's failing op; `oldestZxid` comes with `compacted`.
    case server(code: ErrorCode, message: String, index: Int? = nil, oldestZxid: UInt64? = nil)
    /// The connection dropped before the reply came: the request may or may not have been applied.
    case connectionLoss
    /// The session expired; ephemerals are gone. The client opens a new session by itself.
    case sessionExpired
    /// No connection could be had within the request timeout.
    case timedOut
    /// The client was shut down.
    case closed

    /// The protocol code when the server answered with an error.
    public var code: ErrorCode? {
        if case .server(let code, _, _, _) = self { return code }
        return nil
    }

    public var description: String {
        switch self {
        case .server(let code, let message, _, _): "\(code.rawValue): \(message)"
        case .connectionLoss: "the connection to the server was lost"
        case .sessionExpired: "the session expired"
        case .timedOut: "no connection to the server within the timeout"
        case .closed: "the client is closed"
        }
    }

    init(_ error: ErrorReply) {
        self = .server(code: error.code, message: error.message, index: error.index, oldestZxid: error.oldestZxid)
    }

    /// An argument the client checks before sending (a path), failing as the server would have.
    init(_ error: CairnError) { self.init(ErrorReply(error)) }
}
