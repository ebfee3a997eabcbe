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
    /// A multi answered by the count of its ops alone (`"results":false`): for a load's batches, whose results
    /// nobody reads.
    case bulk([Operation])
    /// Reads from one consistent view, each answered alone: one failing (no node, no permission) fails no other
    /// (ZooKeeper's multiRead). They set no watches.
    case readMulti([MultiRead])
    case get(ZNodePath, watch: Bool)
    case exists(ZNodePath, watch: Bool)
    case children(ZNodePath, watch: Bool)
    case sync(ZNodePath)
    /// A persistent watch; with `since`, the changes after that zxid are replayed first.
    case addWatch(ZNodePath, recursive: Bool, since: Zxid?)
    /// Removes the connection's watches of `selection` on the path.
    case removeWatch(ZNodePath, WatchSelection)
    /// How many watches of `selection` the connection has on the path (ZooKeeper's checkWatches).
    case countWatches(ZNodePath, WatchSelection)
    case stats
    /// Streams the subtree (`ServerEvent.dumpStart`, then `dumpNode`s) from one consistent read.
    case dump(ZNodePath)
    /// Takes a snapshot and streams its file (`ServerEvent.snapshotChunk`s).
    case snapshot
    case listSnapshots
    /// Adds the principal `credentials` prove in `scheme` (ZooKeeper's `digest`: `user:password`) to the
    /// connection's identity, for every later request on it.
    case auth(scheme: String, credentials: String)
    case getACL(ZNodePath)
    /// The connection's principals.
    case whoAmI
    /// How many nodes are below the node (all descendants; ZooKeeper's getAllChildrenNumber).
    case descendantCount(ZNodePath)
    /// The paths of the session's ephemeral nodes that start with `prefix` (ZooKeeper's getEphemerals); of another
    /// session's, `of`, for an operator.
    case ephemerals(prefix: String, of: SessionID? = nil)
    /// The open sessions, for an operator.
    case sessions
    /// Watches a client had before it reconnected, set again as of `relativeZxid` (ZooKeeper's setWatches).
    case restoreWatches(WatchRestore)

    /// The shape of the reply it gets (a reply line does not name its op: the client reads it by the request's).
    public var replyKind: ReplyKind {
        switch self {
        case .connect: .connected
        case .ping, .close: .done
        case .change: .changed
        case .multi: .multi
        case .bulk: .count
        case .readMulti: .reads
        case .get: .node
        case .exists: .exists
        case .children: .children
        case .sync: .synced
        case .addWatch: .watchAdded
        case .removeWatch: .watchRemoved
        case .countWatches: .count
        case .stats: .stats
        case .sessions: .sessions
        case .dump: .dumped
        case .snapshot: .snapshotTaken
        case .listSnapshots: .snapshots
        case .auth: .done
        case .getACL: .acl
        case .whoAmI: .whoAmI
        case .restoreWatches: .done
        case .descendantCount: .count
        case .ephemerals: .paths
        }
    }

    /// A change for the store's group commit (pipelined: it need not wait for the changes before it).
    public var isChange: Bool {
        switch self {
        case .change, .multi, .bulk: true
        default: false
        }
    }
}

/// One read of a `readMulti`.
public enum MultiRead: Sendable, Hashable {
    case get(ZNodePath)
    case children(ZNodePath)
}

/// The watches a client held on its previous connection, and the last zxid it saw. Each one-shot watch whose node
/// changed after that zxid fires at once instead (a data watch: deleted or data_changed; an exist watch on a node
/// that now exists: created; a child watch: deleted or children_changed); the others, and every persistent one, are
/// set again, as ZooKeeper's `DataTree.setWatches` does.
public struct WatchRestore: Sendable, Hashable {
    public var relativeZxid: Zxid
    public var data: [ZNodePath]
    public var exist: [ZNodePath]
    public var child: [ZNodePath]
    public var persistent: [ZNodePath]
    public var persistentRecursive: [ZNodePath]

    public init(
        relativeZxid: Zxid, data: [ZNodePath], exist: [ZNodePath], child: [ZNodePath], persistent: [ZNodePath] = [],
        persistentRecursive: [ZNodePath] = []
    ) {
        self.relativeZxid = relativeZxid
        self.data = data
        self.exist = exist
        self.child = child
        self.persistent = persistent
        self.persistentRecursive = persistentRecursive
    }
}

/// Which of a connection's watches on a path an operation means: one-shot data (get, exists) or child (children)
/// watches, persistent ones (add_watch, not recursive), recursive ones, or all of them.
public enum WatchSelection: String, Sendable, Hashable, CaseIterable {
    case any, data, child, persistent, recursive
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

extension ClientRequest {
    /// The node the request is about, for logs (a multi's first op's, with how many ops there are); nil for those about
    /// none (connect, stats, …).
    public var subject: String? {
        switch self {
        case .change(let operation): operation.subject
        case .multi(let operations), .bulk(let operations):
            operations.first.map { "\($0.subject) (+\(operations.count - 1) ops)" }
        case .readMulti(let reads):
            reads.first.map { read -> String in
                switch read {
                case .get(let path), .children(let path): "\(path) (+\(reads.count - 1) reads)"
                }
            }
        case .get(let path, _), .exists(let path, _), .children(let path, _), .sync(let path),
            .addWatch(let path, _, _), .removeWatch(let path, _), .countWatches(let path, _), .dump(let path),
            .getACL(let path), .descendantCount(let path):
            "\(path)"
        case .ephemerals(let prefix, _): prefix
        case .connect, .ping, .close, .stats, .sessions, .snapshot, .listSnapshots, .auth, .whoAmI, .restoreWatches:
            nil
        }
    }
}

extension Operation {
    /// The node it changes, as given (a sequential create's prefix).
    var subject: String {
        switch self {
        case .create(let path, _, _, _, _): path
        case .delete(let path, _), .setData(let path, _, _), .check(let path, _), .setACL(let path, _, _),
            .restoreCounters(let path, _):
            "\(path)"
        }
    }
}
