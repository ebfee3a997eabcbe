import CairnCore

/// A successful reply's content, by the op it answers (`ClientRequest.replyKind`). Every reply also carries the
/// request's id and the zxid the server was at (`ReplyLine`).
public enum Reply: Sendable, Hashable {
    /// connect: the session, its password when it was just created (not on a resume), and the timeout granted.
    case connected(session: SessionID, password: [UInt8]?, timeoutMilliseconds: Int64)
    /// ping, close: nothing but the zxid.
    case done
    /// A single create, set, delete or check.
    case changed(OperationResult)
    case multi([OperationResult])
    /// read_multi: each read's `.node` or `.children`, or its error, in the order asked.
    case reads([Result<Reply, ErrorReply>])
    /// Data nil: null data (see `Operation`).
    case node(data: [UInt8]?, stat: Stat)
    /// exists: nil when there is no node.
    case exists(Stat?)
    case children([String], stat: Stat)
    case synced(path: ZNodePath)
    /// add_watch: how many past events `since_zxid` replayed before this reply.
    case watchAdded(replayed: Int)
    /// remove_watch: how many of the connection's watches on the path went.
    case watchRemoved(count: Int)
    /// Boxed: the largest payload by far, and rare; it would make every reply value as large.
    indirect case stats(ServerStatistics)
    /// dump: the nodes streamed before this reply.
    case dumped(nodes: Int)
    /// snapshot: the streamed file's size and CRC-32C.
    case snapshotTaken(size: Int, checksum: UInt32)
    /// snapshots: newest first.
    case snapshots([SnapshotSummary])
    /// get_acl.
    case acl(ACL, stat: Stat)
    /// whoami: the connection's principals.
    case whoAmI([Principal])
    /// count_descendants.
    case count(Int)
    /// ephemerals: absolute paths, in no particular order.
    case paths([String])
    /// sessions: every open session, by id.
    case sessions([SessionSummary])
}

/// The reply shapes, one per `Reply` case: what a client expects for the request it sent.
public enum ReplyKind: Sendable, Hashable {
    case connected, done, changed, multi, reads, node, exists, children, synced, watchAdded, watchRemoved, stats, dumped
    case snapshotTaken, snapshots, acl, whoAmI, count, paths, sessions
}

/// One session in the `sessions` reply.
public struct SessionSummary: Sendable, Hashable {
    public var id: SessionID
    public var timeoutMilliseconds: Int64
    /// Whether a connection has it now.
    public var connected: Bool
    /// Since the server last heard from its client (a request or a ping), ms.
    public var idleMilliseconds: Int64
    /// Its ephemeral nodes.
    public var ephemerals: Int

    public init(id: SessionID, timeoutMilliseconds: Int64, connected: Bool, idleMilliseconds: Int64, ephemerals: Int) {
        (self.id, self.timeoutMilliseconds, self.connected) = (id, timeoutMilliseconds, connected)
        (self.idleMilliseconds, self.ephemerals) = (idleMilliseconds, ephemerals)
    }
}

/// A reply line: `{"id":…,"ok":true,"zxid":…,<the reply's fields>}` or `{"id":…,"ok":false,"error":{…}}`.
public struct ReplyLine: Sendable, Hashable {
    public enum Outcome: Sendable, Hashable {
        case ok(zxid: Zxid, Reply)
        case failed(ErrorReply)
    }

    /// nil when the request had no readable id (a malformed line).
    public var id: Int64?
    public var outcome: Outcome

    public init(id: Int64?, _ outcome: Outcome) {
        self.id = id
        self.outcome = outcome
    }
}

/// An error reply's `error` object: the protocol code, a message for people, and for some codes a detail.
public struct ErrorReply: Error, Sendable, Hashable {
    public var code: ErrorCode
    public var message: String
    /// multi: the failing op.
    public var index: Int?
    /// compacted: the oldest zxid history still holds.
    public var oldestZxid: Zxid?

    public init(code: ErrorCode, message: String, index: Int? = nil, oldestZxid: Zxid? = nil) {
        self.code = code
        self.message = message
        self.index = index
        self.oldestZxid = oldestZxid
    }

    /// What the server sends for `error`.
    public init(_ error: CairnError) {
        var index: Int?
        var oldest: Zxid?
        switch error {
        case .multiFailed(let failed, _): index = failed
        case .compacted(_, let oldestAvailable): oldest = oldestAvailable
        default: break
        }
        self.init(code: error.errorCode, message: error.description, index: index, oldestZxid: oldest)
    }
}

/// The server's `stats` reply.
public struct ServerStatistics: Sendable, Hashable {
    public var znodes: Int
    public var sessions: Int
    public var watches: Int
    public var connections: Int
    public var walBytes: Int
    /// Group commits since the server started: batches (one fdatasync each), the changes they made durable,
    /// and the time spent in those fdatasyncs.
    public var commitBatches: Int
    public var committedChanges: Int
    public var fsyncMicrosecondsTotal: UInt64
    /// Why the server's last write failed (a full disk, say); nil while writes succeed. Reads go on meanwhile.
    public var writeError: String?
    public var lastSnapshotZxid: Zxid?
    public var uptimeMilliseconds: Int64
    public var version: String
    public var ephemerals = 0
    /// Watches by kind (`watches` is their sum).
    public var watchesByKind = WatchCounts()
    /// Open connections by front end (`connections` is their sum).
    public var connectionsByFrontEnd = FrontEndCounts()
    public var walSegments = 0
    /// The LMDB map's size now, and the bytes of it in use.
    public var storeMapBytes = 0
    public var storeUsedBytes = 0
    /// Snapshots kept.
    public var snapshots = 0
    /// How long opening the store took at the last start (recovery included), and the WAL changes it replayed.
    public var recoveryMilliseconds: Int64 = 0
    public var recoveryReplayedChanges = 0
    /// Latencies by op since the server started, for the ops that were answered.
    public var latencies: [OperationLatency] = []

    public init(
        znodes: Int, sessions: Int, watches: Int, connections: Int, walBytes: Int, commitBatches: Int,
        committedChanges: Int, fsyncMicrosecondsTotal: UInt64, writeError: String?, lastSnapshotZxid: Zxid?,
        uptimeMilliseconds: Int64, version: String
    ) {
        self.znodes = znodes
        self.sessions = sessions
        self.watches = watches
        self.connections = connections
        self.walBytes = walBytes
        self.commitBatches = commitBatches
        self.committedChanges = committedChanges
        self.fsyncMicrosecondsTotal = fsyncMicrosecondsTotal
        self.writeError = writeError
        self.lastSnapshotZxid = lastSnapshotZxid
        self.uptimeMilliseconds = uptimeMilliseconds
        self.version = version
    }
}

/// Watches by kind, in the `stats` reply.
public struct WatchCounts: Sendable, Hashable {
    public var data = 0
    public var child = 0
    public var persistent = 0
    public var persistentRecursive = 0

    public init(data: Int = 0, child: Int = 0, persistent: Int = 0, persistentRecursive: Int = 0) {
        (self.data, self.child, self.persistent, self.persistentRecursive) = (
            data, child, persistent, persistentRecursive
        )
    }
}

/// Connections by front end, in the `stats` reply.
public struct FrontEndCounts: Sendable, Hashable {
    public var json = 0
    public var zooKeeper = 0

    public init(json: Int = 0, zooKeeper: Int = 0) { (self.json, self.zooKeeper) = (json, zooKeeper) }
}

/// One op's latencies in the `stats` reply: how many were answered, and the median and 99th percentile, µs (upper
/// bounds, within 1/8 of the truth).
public struct OperationLatency: Sendable, Hashable {
    /// The op as the metrics name it (`create`, `get`, …).
    public var op: String
    public var count: UInt64
    public var p50Microseconds: UInt64
    public var p99Microseconds: UInt64

    public init(op: String, count: UInt64, p50Microseconds: UInt64, p99Microseconds: UInt64) {
        (self.op, self.count, self.p50Microseconds, self.p99Microseconds) = (
            op, count, p50Microseconds, p99Microseconds
        )
    }
}

/// One snapshot in the `snapshots` reply.
public struct SnapshotSummary: Sendable, Hashable {
    public var zxid: Zxid
    public var size: Int
    public var checksum: UInt32
    /// ms since the epoch.
    public var created: Int64

    public init(zxid: Zxid, size: Int, checksum: UInt32, created: Int64) {
        self.zxid = zxid
        self.size = size
        self.checksum = checksum
        self.created = created
    }
}
