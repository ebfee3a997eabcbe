import CairnCore

/// What a client asks of the server: one case per op of the JSON-lines protocol (docs/protocol.md), with its
/// fields checked. Its line is `line(id:)`; the server reads one with `RequestDecoder`.
public enum ClientRequest: Sendable, Hashable {
    /// Opens a session with the timeout asked for, or resumes one.
    case connect(timeoutMilliseconds: Int64, resume: SessionCredentials?)
    case ping
    /// Closes the connection's session (its ephemerals go) and then the connection.
    case close
    /// create, set, delete, check or set_acl.
    case change(Operation)
    /// All or nothing.
    case multi([Operation])
    case get(ZNodePath, watch: Bool)
    case exists(ZNodePath, watch: Bool)
    case children(ZNodePath, watch: Bool)
    case sync(ZNodePath)
    /// A persistent watch; with `since`, the changes after that zxid are replayed first.
    case addWatch(ZNodePath, recursive: Bool, since: Zxid?)
    case removeWatch(ZNodePath)
    case stats
    /// Streams the subtree (`ServerEvent.dumpStart`, then `dumpNode`s) from one consistent read.
    case dump(ZNodePath, stat: Bool)
    /// Takes a snapshot and streams its file (`ServerEvent.snapshotChunk`s).
    case snapshot
    case listSnapshots
    /// Adds the principal `credentials` prove in `scheme` (ZooKeeper's `digest`: `user:password`) to the
    /// connection's identity, for every later request on it.
    case auth(scheme: String, credentials: String)
    case getACL(ZNodePath)
    /// The connection's principals.
    case whoAmI

    /// The shape of the reply it gets (a reply line does not name its op: the client reads it by the request's).
    public var replyKind: ReplyKind {
        switch self {
        case .connect: .connected
        case .ping, .close: .done
        case .change: .changed
        case .multi: .multi
        case .get: .node
        case .exists: .exists
        case .children: .children
        case .sync: .synced
        case .addWatch: .watchAdded
        case .removeWatch: .watchRemoved
        case .stats: .stats
        case .dump: .dumped
        case .snapshot: .snapshotTaken
        case .listSnapshots: .snapshots
        case .auth: .done
        case .getACL: .acl
        case .whoAmI: .whoAmI
        }
    }

    /// A change for the store's group commit (pipelined: it need not wait for the changes before it).
    public var isChange: Bool {
        switch self {
        case .change, .multi: true
        default: false
        }
    }
}

/// What resumes a session: its id and the password the server gave at its creation.
public struct SessionCredentials: Sendable, Hashable {
    public var id: SessionID
    public var password: [UInt8]

    public init(id: SessionID, password: [UInt8]) {
        self.id = id
        self.password = password
    }
}
