import CairnCore
import CairnProtocol
import CairnStore
import Logging

/// Sessions as the front ends see them: created, resumed with id and password, kept alive by requests, closed by
/// their clients or expired, and restored after a restart with the documented grace (`SessionRestore`). Every
/// change of a session is a store change (so it survives restarts); the deadlines live in `SessionTable`.
final class SessionService: Sendable {
    let table: SessionTable
    private let store: Store
    private let connections: ConnectionRegistry
    private let timeouts: ClosedRange<Int64>
    private let logger: Logger

    init(
        store: Store, connections: ConnectionRegistry, timeouts: ClosedRange<Int64>, clock: SessionClock = .system,
        logger: Logger
    ) {
        table = SessionTable(clock: clock)
        self.store = store
        self.connections = connections
        self.timeouts = timeouts
        self.logger = logger
    }

    var count: Int { table.count }

    /// Restores the persisted sessions, each with its reconnect window.
    func restore() throws {
        for record in try store.read({ try $0.sessions() }) { table.restore(record) }
    }

    /// Persists every session's deadline (at checkpoints, at a start and at shutdown).
    func checkpoint() async throws(CairnError) {
        try await store.recordSessionTimes(table.times())
    }

    /// Opens a session for `connection` with the timeout asked for, clamped into the configured bounds; `completion`
    /// (on the writer thread) gets the connect answer once the session is durable.
    func open(
        timeoutMilliseconds requested: Int64, for connection: ConnectionID,
        completion: @escaping @Sendable (Answer) -> Void
    ) {
        let timeout = min(max(requested, timeouts.lowerBound), timeouts.upperBound)
        var generator = SystemRandomNumberGenerator()
        let id = SessionID(rawValue: UInt64.random(in: 1...UInt64.max, using: &generator))
        let password = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let hash = SessionTable.hash(password)
        store.submit(.createSession(id: id, timeoutMilliseconds: timeout, passwordHash: hash)) { [table] result in
            switch result {
            case .success(let committed):
                // In the table even if the connection is gone by now: the session must still expire.
                table.open(id, timeoutMilliseconds: timeout, passwordHash: hash, connection: connection)
                let reply = Reply.connected(session: id, password: password, timeoutMilliseconds: timeout)
                completion(Answer(.ok(zxid: committed.zxid, reply), session: .attached(id)))
            case .failure(let error): completion(.failed(error))
            }
        }
    }

    /// Moves a session to `connection` (the one it was on before is closed) if the password is right.
    func resume(_ credentials: SessionCredentials, on connection: ConnectionID, zxid: Zxid) -> Answer {
        guard
            let (timeout, previous, endedGrace) = table.resume(
                credentials.id, password: credentials.password, connection: connection)
        else { return .failed(.sessionExpired(credentials.id)) }
        if let endedGrace { store.recordSessionTimes([endedGrace]) { _ in } }
        if let previous, previous != connection { connections.handle(previous)?.channel.close(promise: nil) }
        let reply = Reply.connected(session: credentials.id, password: nil, timeoutMilliseconds: timeout)
        return Answer(.ok(zxid: zxid, reply), session: .attached(credentials.id))
    }

    /// Keeps the session alive for another timeout; false when it is gone or expiring.
    func touch(_ id: SessionID) -> Bool { table.touch(id) }

    func detach(_ id: SessionID, from connection: ConnectionID) { table.detach(id, from: connection) }

    /// Closes the session at its client's request: its ephemerals go in the same change; then the connection closes.
    func close(_ id: SessionID, completion: @escaping @Sendable (Answer) -> Void) {
        table.beginClose(id)
        store.submit(.closeSession(id)) { [table] result in
            table.remove(id)
            let outcome: ReplyLine.Outcome =
                switch result {
                case .success(let committed): .ok(zxid: committed.zxid, .done)
                case .failure(let error): .failed(ErrorReply(error))
                }
            completion(Answer(outcome, session: .detached, then: .close))
        }
    }

    /// Expires the sessions past their deadline: a change that deletes their ephemerals (watchers hear it), then
    /// the attached connection gets `session_expired` and is closed.
    func expireDue() {
        for (id, connection) in table.expire() {
            logger.info("session expired", metadata: ["session.id": "\(id)"])
            store.submit(.closeSession(id)) { [table, connections] _ in
                table.remove(id)
                if let connection { connections.handle(connection)?.sendAndClose([PushedEvent(.sessionExpired(id))]) }
            }
        }
    }
}
