import CairnCore
import CairnProtocol
import NIOCore

/// The protocol's ops as async functions (docs/protocol.md). Errors are `ClientError`s.
extension CairnClient {
    /// Creates a node with `acl` (by default `world:anyone` with every permission); returns its path (with the
    /// sequence suffix when `sequential`).
    @discardableResult
    public func create(
        _ path: String, data: [UInt8] = [], mode: CreateMode = .persistent, sequential: Bool = false,
        acl: ACL = .open
    ) async throws -> String {
        let operation = Operation.create(path: path, data: data, kind: mode.kind, sequential: sequential, acl: acl)
        guard case .changed(.created(let created, _)) = try await call(.change(operation)).reply else {
            throw Self.unexpectedReply
        }
        return created.string
    }

    public func get(_ path: String) async throws -> NodeData {
        try node(from: try await call(.get(try checked(path), watch: false)).reply)
    }

    /// Reads a node and sets a one-shot data watch on it (fires on data_changed or deleted).
    public func getAndWatch(_ path: String) async throws -> (NodeData, OneShotWatch) {
        let path = try checked(path)
        let watch = OneShotWatch(path: path, kind: .data)
        let reply = try await watched(watch) { try await call(.get(path, watch: true)).reply }
        return (try node(from: reply), watch)
    }

    @discardableResult
    public func set(_ path: String, data: [UInt8], version: Int32 = -1) async throws -> Stat {
        let operation = Operation.setData(path: try checked(path), data: data, version: version)
        guard case .changed(.set(let stat)) = try await call(.change(operation)).reply else {
            throw Self.unexpectedReply
        }
        return stat
    }

    public func delete(_ path: String, version: Int32 = -1) async throws {
        _ = try await call(.change(.delete(path: try checked(path), version: version)))
    }

    /// The node's stat, or nil when it does not exist.
    public func exists(_ path: String) async throws -> Stat? {
        try stat(from: try await call(.exists(try checked(path), watch: false)).reply)
    }

    /// `exists` plus a one-shot data watch, set whether or not the node exists (fires on created, deleted
    /// or data_changed).
    public func existsAndWatch(_ path: String) async throws -> (Stat?, OneShotWatch) {
        let path = try checked(path)
        let watch = OneShotWatch(path: path, kind: .data)
        let reply = try await watched(watch) { try await call(.exists(path, watch: true)).reply }
        return (try stat(from: reply), watch)
    }

    /// Child names, sorted.
    public func children(_ path: String) async throws -> [String] {
        try names(from: try await call(.children(try checked(path), watch: false)).reply)
    }

    /// Children plus a one-shot child watch (fires on children_changed or deleted).
    public func childrenAndWatch(_ path: String) async throws -> ([String], OneShotWatch) {
        let path = try checked(path)
        let watch = OneShotWatch(path: path, kind: .child)
        let reply = try await watched(watch) { try await call(.children(path, watch: true)).reply }
        return (try names(from: reply), watch)
    }

    /// All or nothing; on failure `ClientError.server` names the failing op's `index`.
    @discardableResult
    public func multi(_ ops: [MultiOp]) async throws -> [MultiResult] {
        try await sendMulti(ops).results()
    }

    /// `multi`, sent before this returns: multis sent one after another from one task reach the server, and are
    /// applied, in that order, so a loader keeps several in flight and awaits each one's `results()` later.
    public func sendMulti(_ ops: [MultiOp]) async throws -> PendingMulti {
        PendingMulti(reply: try await sendNow(.multi(try operations(ops))))
    }

    /// `sendMulti` for a load's batches: the reply carries no per-op results (which the server then need not write
    /// nor the client read), only that all were applied; `PendingMulti.results()` returns none.
    public func sendBulk(_ ops: [MultiOp]) async throws -> PendingMulti {
        PendingMulti(reply: try await sendNow(.bulk(try operations(ops))))
    }

    private func operations(_ ops: [MultiOp]) throws -> [Operation] {
        var operations: [Operation] = []
        for (index, op) in ops.enumerated() {
            do {
                operations.append(try op.operation())
            } catch {
                throw ClientError(.multiFailed(index: index, cause: error))
            }
        }
        return operations
    }
    /// Reads from one consistent view of the tree (one zxid), each answered alone: a read that fails (`no_node`,
    /// `no_auth`) is `.failed` in its place and fails no other. No watches.
    public func readMulti(_ reads: [ReadOp]) async throws -> [ReadResult] {
        let requests = try reads.map { read -> MultiRead in
            switch read {
            case .get(let path): .get(try checked(path))
            case .children(let path): .children(try checked(path))
            }
        }
        guard case .reads(let results) = try await call(.readMulti(requests)).reply else { throw Self.unexpectedReply }
        return results.map { result in
            switch result {
            case .success(.node(let data, let stat)): .node(NodeData(data: data ?? [], stat: stat))
            case .success(.children(let names, let stat)): .children(names, stat: stat)
            case .success: .failed(Self.unexpectedReply)
            case .failure(let error): .failed(ClientError(error))
            }
        }
    }

    /// The node's ACL and stat (digest ids masked as `user:x` without ADMIN on it).
    public func getACL(_ path: String) async throws -> (acl: ACL, stat: Stat) {
        guard case .acl(let acl, let stat) = try await call(.getACL(try checked(path))).reply else {
            throw Self.unexpectedReply
        }
        return (acl, stat)
    }

    /// Replaces the node's ACL; `version` (-1 for any) must match its `aversion`.
    @discardableResult
    public func setACL(_ path: String, acl: ACL, version: Int32 = -1) async throws -> Stat {
        let operation = Operation.setACL(path: try checked(path), acl: acl, version: version)
        guard case .changed(.aclSet(let stat)) = try await call(.change(operation)).reply else {
            throw Self.unexpectedReply
        }
        return stat
    }

    /// Proves `authentication` on this connection, and on every later one (it is re-sent after reconnects).
    public func addAuth(_ authentication: Authentication) async throws {
        _ = try await call(.auth(scheme: authentication.scheme, credentials: authentication.credentials))
        state.withLock { s in if !s.authentication.contains(authentication) { s.authentication.append(authentication) }
        }
    }

    /// The principals the server knows this connection by.
    public func whoAmI() async throws -> [Principal] {
        guard case .whoAmI(let principals) = try await call(.whoAmI).reply else { throw Self.unexpectedReply }
        return principals
    }

    /// Returns once every change this client sent before it is committed; the zxid reached.
    @discardableResult
    public func sync(_ path: String = "/") async throws -> UInt64 {
        try await call(.sync(try checked(path))).zxid
    }

    /// Opens a session and closes it again on a client without one (`opensSession` false): a durable write
    /// and its undoing, so it throws the server's reason when the store cannot write.
    public func probeWrite() async throws {
        precondition(!configuration.opensSession, "probeWrite is for a client without a session")
        _ = try await call(.connect(timeoutMilliseconds: 10_000, resume: nil))
        _ = try await call(.close)
    }

    /// How many nodes are below `path` (not counting it).
    public func descendantCount(_ path: String) async throws -> Int {
        guard case .count(let count) = try await call(.descendantCount(try checked(path))).reply else {
            throw Self.unexpectedReply
        }
        return count
    }

    public func stats() async throws -> ServerStats {
        let (zxid, reply) = try await call(.stats)
        guard case .stats(let s) = reply else { throw Self.unexpectedReply }
        return ServerStats(zxid: zxid, figures: s)
    }

    /// The server's open sessions, by id (an operator's, once credentials are configured).
    public func sessions() async throws -> [SessionSummary] {
        let (_, reply) = try await call(.sessions)
        guard case .sessions(let sessions) = reply else { throw Self.unexpectedReply }
        return sessions
    }

    /// The paths of session `id`'s ephemeral nodes (another session's are an operator's to see); this client's own
    /// when nil.
    public func ephemerals(of id: SessionID? = nil, prefix: String = "") async throws -> [String] {
        let (_, reply) = try await call(.ephemerals(prefix: prefix, of: id))
        guard case .paths(let paths) = reply else { throw Self.unexpectedReply }
        return paths.sorted()
    }

    /// Creates every missing node on the way to `path` (persistent, empty), ignoring ones that exist.
    public func createParents(_ path: String) async throws {
        var prefix = ""
        for segment in try checked(path).segments {
            prefix += "/" + segment
            do {
                try await create(prefix)
            } catch let error as ClientError where error.code == .nodeExists {
                continue
            }
        }
    }

    // MARK: Helpers

    /// A path checked here, failing as the server would (`invalid_path`).
    func checked(_ path: String) throws(ClientError) -> ZNodePath {
        do {
            return try ZNodePath(path)
        } catch {
            throw ClientError(error)
        }
    }

    /// The watch is registered before the request goes out, so an event racing the reply is not lost.
    private func watched(_ watch: OneShotWatch, _ body: () async throws -> Reply) async throws -> Reply {
        register(watch)
        do {
            return try await body()
        } catch {
            unregister(watch)
            throw error
        }
    }

    static var unexpectedReply: ClientError {
        .server(code: .internal, message: "the server's reply does not answer the request")
    }

    private func node(from reply: Reply) throws -> NodeData {
        guard case .node(let data, let stat) = reply else { throw Self.unexpectedReply }
        return NodeData(data: data ?? [], stat: stat)
    }

    private func stat(from reply: Reply) throws -> Stat? {
        guard case .exists(let stat) = reply else { throw Self.unexpectedReply }
        return stat
    }

    private func names(from reply: Reply) throws -> [String] {
        guard case .children(let names, _) = reply else { throw Self.unexpectedReply }
        return names
    }
}

extension CreateMode {
    var kind: NodeKind {
        switch self {
        case .persistent: .persistent
        case .ephemeral: .ephemeral
        case .container: .container
        case .persistentWithTTL(let ttl):
            .persistentWithTTL(
                ttlMilliseconds: ttl.components.seconds * 1000 + ttl.components.attoseconds / 1_000_000_000_000_000)
        }
    }
}

extension MultiOp {
    func operation() throws(CairnError) -> Operation {
        switch self {
        case .create(let path, let data, let mode, let sequential, let acl):
            .create(path: path, data: data, kind: mode.kind, sequential: sequential, acl: acl)
        case .set(let path, let data, let version): .setData(path: try ZNodePath(path), data: data, version: version)
        case .delete(let path, let version): .delete(path: try ZNodePath(path), version: version)
        case .check(let path, let version): .check(path: try ZNodePath(path), version: version)
        case .restoreCounters(let path, let counters): .restoreCounters(path: try ZNodePath(path), counters: counters)
        }
    }
}

/// A multi sent and not yet answered (`CairnClient.sendMulti`).
public struct PendingMulti: Sendable {
    let reply: EventLoopFuture<(zxid: Zxid, reply: Reply)>

    /// What each op did (none for `sendBulk`); throws as `CairnClient.multi` does.
    public func results() async throws -> [MultiResult] {
        let reply = try await reply.get().reply
        if case .count = reply { return [] }
        guard case .multi(let results) = reply else { throw CairnClient.unexpectedReply }
        return results.map { result in
            switch result {
            case .created(let path, let stat): .created(path: path.string, stat: stat)
            case .set(let stat): .set(stat: stat)
            case .deleted: .deleted
            case .checked: .checked
            case .aclSet(let stat), .countersRestored(let stat): .set(stat: stat)
            }
        }
    }
}
