import CairnCore
import CairnProtocol
import CairnStore
import Logging

/// One connection as the core knows it: its number, its inbox (how answers that complete later reach it), who it
/// has proved to be, and its session.
struct ConnectionScope: Sendable {
    let id: ConnectionID
    let inbox: ConnectionInbox
    let identity: ConnectionIdentity
    let statistics: ConnectionStatistics
    var session: SessionID?

    init(_ handle: ConnectionHandle) {
        id = handle.id
        inbox = handle.inbox
        identity = handle.identity
        statistics = handle.statistics
    }
}

/// Where the events of a streamed answer (dump, snapshot) go, from a thread-pool thread: the front end encodes and
/// writes them, and `send` blocks while the client is slow to read.
protocol EventStream: Sendable {
    func send(_ event: ServerEvent) throws
    /// Returns once everything sent is written.
    func finish() throws
}

/// Runs connections' requests against the store, the sessions and the watches, knowing no wire format: a front end
/// hands it a typed request and gets the answer, at once or later through the connection's inbox.
final class RequestExecutor: Sendable {
    let store: Store
    let sessions: SessionService
    let watches: WatchHub
    let connections: ConnectionRegistry
    let access: AccessPolicy
    let metrics: ServerMetrics
    let logger: Logger
    /// Monotonic: uptime must not jump (or go negative) when the wall clock is stepped.
    let startedAt = SystemClock.monotonicMilliseconds()

    init(
        store: Store, sessions: SessionService, watches: WatchHub, connections: ConnectionRegistry,
        access: AccessPolicy, metrics: ServerMetrics, logger: Logger
    ) {
        self.metrics = metrics
        self.store = store
        self.sessions = sessions
        self.watches = watches
        self.connections = connections
        self.access = access
        self.logger = logger
    }

    /// Runs `request`, which holds `slot` on `connection`. Returns its answer, or nil when the answer will be posted
    /// to the connection's inbox (`.answered(slot, …)`): a change's once durable, a read's once the watch events of
    /// what it reflects are posted, connect's, close's, a replay's and a stream's when done. `stream` opens the
    /// connection's event stream (dump, snapshot).
    func execute(
        _ request: ClientRequest, slot: ConnectionStateMachine.Slot, for connection: ConnectionScope,
        stream: () -> any EventStream
    ) -> Answer? {
        if case .connect(let timeout, let resume) = request {
            return connect(timeout: timeout, resume: resume, slot: slot, for: connection)
        }
        // A probe (ping, stats) needs no session: it must answer while the store cannot write one; nor do auth and
        // whoami, which a sessionless probe may need first.
        let needsNoSession =
            switch request {
            case .ping, .stats, .sessions, .auth, .whoAmI, .ephemerals(_, of: .some): true
            default: false
            }
        let session = connection.session
        if session != nil || !needsNoSession {
            guard let session else { return .failed(.sessionRequired) }
            guard sessions.touch(session) else { return .failed(.sessionExpired(session), then: .close) }
        }
        // Below, `session!` is safe: every request but those needing none got past the check above with one.
        let inbox = connection.inbox
        let identity = connection.identity.current
        // Made only where an answer comes later (a closure is an allocation per request).
        func post() -> @Sendable (Answer) -> Void { { inbox.post(.answered(slot, $0)) } }
        do {
            switch request {
            case .connect: preconditionFailure("handled above")
            case .change(let operation):
                let fixed = try fixup(operation, for: identity)
                submit(.operation(fixed), .result, session: session!, identity: identity, slot: slot, to: inbox)
                return nil
            case .multi(let operations), .bulk(let operations):
                var fixed = operations
                for (index, operation) in operations.enumerated() {
                    do throws(CairnError) {
                        fixed[index] = try fixup(operation, for: identity)
                    } catch {
                        throw CairnError.multiFailed(index: index, cause: error)
                    }
                }
                let answering: Answering = if case .bulk = request { .count } else { .results }
                submit(.multi(fixed), answering, session: session!, identity: identity, slot: slot, to: inbox)
                return nil
            case .ping: return Answer(.ok(zxid: try zxid(), .done))
            case .close:
                sessions.close(session!, completion: post())
                return nil
            case .get(let path, let watch):
                return afterDelivery(try get(path, watch: watch, as: identity, for: connection), slot: slot, to: inbox)
            case .exists(let path, let watch):
                return afterDelivery(
                    try exists(path, watch: watch, as: identity, for: connection), slot: slot, to: inbox)
            case .children(let path, let watch):
                return afterDelivery(
                    try children(path, watch: watch, as: identity, for: connection), slot: slot, to: inbox)
            case .readMulti(let reads): return afterDelivery(try readMulti(reads, as: identity), slot: slot, to: inbox)
            case .getACL(let path): return Answer(try acl(path, as: identity))
            case .sync(let path): return Answer(.ok(zxid: try zxid(), .synced(path: path)))
            case .addWatch(let path, let recursive, let since):
                return try watches.addPersistent(
                    on: path, recursive: recursive, since: since, current: try zxid(), for: connection.id,
                    as: identity, history: store, completion: post())
            case .countWatches(let path, let selection):
                return Answer(.ok(zxid: try zxid(), .count(watches.count(selection, on: path, for: connection.id))))
            case .removeWatch(let path, let selection):
                let removed = watches.remove(selection, on: path, for: connection.id)
                return Answer(.ok(zxid: try zxid(), .watchRemoved(count: removed)))
            case .stats:
                try mayOperate("stats", identity)
                return Answer(try statistics())
            case .dump(let path):
                try mayOperate("dump", identity)
                dump(path, into: stream(), post())
                return nil
            case .snapshot:
                try mayOperate("snapshot", identity)
                snapshot(into: stream(), post())
                return nil
            case .listSnapshots:
                try mayOperate("snapshots", identity)
                return Answer(try snapshotList())
            case .auth(let scheme, let credentials):
                return Answer(.ok(zxid: try zxid(), try authenticate(scheme, credentials, on: connection)))
            case .whoAmI: return Answer(.ok(zxid: try zxid(), .whoAmI(identity.principals)))
            case .restoreWatches(let restore): return try restoreWatches(restore, as: identity, for: connection)
            case .descendantCount(let path): return Answer(try descendantCount(path, as: identity))
            case .ephemerals(let prefix, let other):
                // Another session's are an operator's to see.
                if let other, other != session { try mayOperate("ephemerals of another session", identity) }
                let owner = other ?? session!
                let (paths, zxid) = try store.read { view in (try view.ephemerals(of: owner), try view.zxid) }
                return Answer(.ok(zxid: zxid, .paths(paths.map(\.string).filter { $0.hasPrefix(prefix) })))
            case .sessions:
                try mayOperate("sessions", identity)
                return Answer(try sessionList())
            }
        } catch {
            return .failed((error as? CairnError) ?? .internal("\(error)"))
        }
    }

    func zxid() throws -> Zxid { try store.read { try $0.zxid } }

    private func connect(
        timeout: Int64, resume: SessionCredentials?, slot: ConnectionStateMachine.Slot, for connection: ConnectionScope
    ) -> Answer? {
        guard connection.session == nil else { return .failed(.badArguments("this connection already has a session")) }
        if let resume { return sessions.resume(resume, on: connection.id, zxid: (try? zxid()) ?? 0) }
        let inbox = connection.inbox
        sessions.open(timeoutMilliseconds: timeout, for: connection.id) { inbox.post(.answered(slot, $0)) }
        return nil
    }

    /// What a change's reply carries: its one result, a multi's results, or a bulk multi's count of them.
    private enum Answering { case result, results, count }

    private func submit(
        _ change: Request, _ answering: Answering, session: SessionID, identity: Identity,
        slot: ConnectionStateMachine.Slot, to inbox: ConnectionInbox
    ) {
        store.submit(change, session: session, identity: identity) { result in
            // The answer needs the zxid and results only: the change (its data, paths) stays with the writer
            // thread, which allocated it and frees it with its batch.
            switch result {
            case .success(let committed):
                let reply: Reply =
                    switch answering {
                    case .result: committed.results.first.map { .changed($0) } ?? .done
                    case .results: .multi(committed.results)
                    case .count: .count(committed.results.count)
                    }
                inbox.post(.answered(slot, Answer(.ok(zxid: committed.zxid, reply))))
            case .failure(let error): inbox.post(.answered(slot, .failed(error)))
            }
        }
    }

    /// A read's answer once the watch events of every change it reflects are posted (the writer posts a batch's
    /// events right after its LMDB commit, so a read in between can see a change whose events are not posted yet).
    private func afterDelivery(
        _ read: (answer: Answer, zxid: Zxid), slot: ConnectionStateMachine.Slot, to inbox: ConnectionInbox
    ) -> Answer? {
        guard !watches.isDelivered(read.zxid) else { return read.answer }
        let answer = read.answer
        watches.whenDelivered(read.zxid) { inbox.post(.answered(slot, answer)) }
        return nil
    }
}
