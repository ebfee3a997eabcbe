import CairnCore
import CairnProtocol

/// The protocol's ops as async functions (docs/protocol.md). Errors are `ClientError`s.
extension CairnClient {
    /// Creates a node; returns its path (with the sequence suffix when `sequential`).
    @discardableResult
    public func create(_ path: String, data: [UInt8] = [], mode: CreateMode = .persistent, sequential: Bool = false)
        async throws -> String
    {
        var request = WireRequest(op: "create")
        request.path = path
        request.setData(data)
        request.setMode(mode, sequential: sequential)
        return try await call(request).path ?? path
    }

    public func get(_ path: String) async throws -> NodeData {
        try node(from: try await call(read("get", path)))
    }

    /// Reads a node and sets a one-shot data watch on it (fires on data_changed or deleted).
    public func getAndWatch(_ path: String) async throws -> (NodeData, OneShotWatch) {
        let watch = OneShotWatch(path: try ZNodePath(path), kind: .data)
        let reply = try await watched(watch) { try await call(read("get", path, watch: true)) }
        return (try node(from: reply), watch)
    }

    @discardableResult
    public func set(_ path: String, data: [UInt8], version: Int32 = -1) async throws -> Stat {
        var request = WireRequest(op: "set")
        request.path = path
        request.setData(data)
        request.version = version
        return try stat(from: try await call(request))
    }

    public func delete(_ path: String, version: Int32 = -1) async throws {
        var request = WireRequest(op: "delete")
        request.path = path
        request.version = version
        _ = try await call(request)
    }

    /// The node's stat, or nil when it does not exist.
    public func exists(_ path: String) async throws -> Stat? {
        try await call(read("exists", path)).stat.map(Stat.init)
    }

    /// `exists` plus a one-shot data watch, set whether or not the node exists (fires on created, deleted
    /// or data_changed).
    public func existsAndWatch(_ path: String) async throws -> (Stat?, OneShotWatch) {
        let watch = OneShotWatch(path: try ZNodePath(path), kind: .data)
        let reply = try await watched(watch) { try await call(read("exists", path, watch: true)) }
        return (reply.stat.map(Stat.init), watch)
    }

    /// Child names, sorted.
    public func children(_ path: String) async throws -> [String] {
        try await call(read("children", path)).children ?? []
    }

    /// Children plus a one-shot child watch (fires on children_changed or deleted).
    public func childrenAndWatch(_ path: String) async throws -> ([String], OneShotWatch) {
        let watch = OneShotWatch(path: try ZNodePath(path), kind: .child)
        let reply = try await watched(watch) { try await call(read("children", path, watch: true)) }
        return (reply.children ?? [], watch)
    }

    /// All or nothing; on failure `ClientError.server` names the failing op's `index`.
    @discardableResult
    public func multi(_ ops: [MultiOp]) async throws -> [MultiResult] {
        var request = WireRequest(op: "multi")
        request.ops = ops.map(\.wire)
        let reply = try await call(request)
        return (reply.results ?? []).map { result in
            switch result.op {
            case "create":
                .created(
                    path: result.path ?? "",
                    stat: result.stat.map(Stat.init) ?? .created(zxid: 0, time: 0, owner: nil, dataLength: 0))
            case "set": .set(stat: result.stat.map(Stat.init) ?? .created(zxid: 0, time: 0, owner: nil, dataLength: 0))
            case "delete": .deleted
            default: .checked
            }
        }
    }

    /// Returns once every change this client sent before it is committed; the zxid reached.
    @discardableResult
    public func sync(_ path: String = "/") async throws -> UInt64 {
        try await call(read("sync", path)).zxid ?? 0
    }

    /// Opens a session and closes it again on a client without one (`opensSession` false): a durable write
    /// and its undoing, so it throws the server's reason when the store cannot write.
    public func probeWrite() async throws {
        precondition(!configuration.opensSession, "probeWrite is for a client without a session")
        _ = try await call(WireRequest(op: "connect"))
        _ = try await call(WireRequest(op: "close"))
    }

    public func stats() async throws -> ServerStats {
        let r = try await call(WireRequest(op: "stats"))
        return ServerStats(
            zxid: r.zxid ?? 0, znodes: r.znodes ?? 0, sessions: r.sessions ?? 0, watches: r.watches ?? 0,
            connections: r.connections ?? 0, walBytes: r.walBytes ?? 0, commitBatches: r.commitBatches ?? 0,
            committedChanges: r.committedChanges ?? 0, fsyncMicrosecondsTotal: r.fsyncMicrosecondsTotal ?? 0,
            lastSnapshotZxid: r.lastSnapshotZxid,
            uptimeMilliseconds: r.uptimeMs ?? 0, writeError: r.writeError, version: r.version ?? "")
    }

    /// Creates every missing node on the way to `path` (persistent, empty), ignoring ones that exist.
    public func createParents(_ path: String) async throws {
        var prefix = ""
        for segment in try ZNodePath(path).segments {
            prefix += "/" + segment
            do {
                try await create(prefix)
            } catch let error as ClientError where error.code == .nodeExists {
                continue
            }
        }
    }

    // MARK: Helpers

    private func read(_ op: String, _ path: String, watch: Bool = false) -> WireRequest {
        var request = WireRequest(op: op)
        request.path = path
        if watch { request.watch = true }
        return request
    }

    /// The watch is registered before the request goes out, so an event racing the reply is not lost.
    private func watched(_ watch: OneShotWatch, _ body: () async throws -> WireReply) async throws -> WireReply {
        register(watch)
        do {
            return try await body()
        } catch {
            unregister(watch)
            throw error
        }
    }

    private func node(from reply: WireReply) throws -> NodeData {
        NodeData(data: reply.bytes, stat: try stat(from: reply))
    }

    private func stat(from reply: WireReply) throws -> Stat {
        guard let stat = reply.stat else { throw ClientError.server(code: .internal, message: "reply without a stat") }
        return Stat(stat)
    }
}

extension MultiOp {
    var wire: WireRequest {
        switch self {
        case .create(let path, let data, let mode, let sequential):
            var r = WireRequest(op: "create")
            r.path = path
            r.setData(data)
            r.setMode(mode, sequential: sequential)
            return r
        case .set(let path, let data, let version):
            var r = WireRequest(op: "set")
            r.path = path
            r.setData(data)
            r.version = version
            return r
        case .delete(let path, let version):
            var r = WireRequest(op: "delete")
            r.path = path
            r.version = version
            return r
        case .check(let path, let version):
            var r = WireRequest(op: "check")
            r.path = path
            r.version = version
            return r
        }
    }
}
