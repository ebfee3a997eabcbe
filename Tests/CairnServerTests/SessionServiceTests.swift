import CairnCore
import CairnProtocol
import CairnStore
import CairnTesting
import Dispatch
import Logging
import NIOEmbedded
import Synchronization
import Testing

@testable import CairnServer

/// Sessions over a real store, with connections that are embedded channels: no sockets.
@Suite("SessionService: open, resume moving a session between connections, close")
struct SessionServiceTests {
    @Test("resuming on another connection attaches the session there and closes the one it was on")
    func resumeMovesTheSession() throws {
        let directory = TemporaryDirectory("cairn-sessions")
        var configuration = Store.Configuration(dataDirectory: directory.appending("data"))
        configuration.snapshotEveryChanges = 0
        let store = try Store.open(configuration, logger: Logger(label: "test"))
        defer { store.close() }
        let connections = ConnectionRegistry()
        let sessions = SessionService(
            store: store, connections: connections, timeouts: 1000...60_000, logger: Logger(label: "test"))
        let first = EmbeddedChannel()
        let second = EmbeddedChannel()
        try first.connect(to: .init(ipAddress: "127.0.0.1", port: 1)).wait()
        let firstID = try #require(connections.add(first, of: .jsonLines, identity: Identity(), limit: 10)).id
        let secondID = try #require(connections.add(second, of: .jsonLines, identity: Identity(), limit: 10)).id

        let opened = try #require(
            Self.answer { sessions.open(timeoutMilliseconds: 99_000, for: firstID, completion: $0) })
        guard case .ok(_, .connected(let id, let password?, let timeout)) = opened.outcome else {
            Issue.record("no session: \(opened.outcome)")
            return
        }
        #expect(timeout == 60_000, "the timeout asked for is clamped")
        #expect(opened.session == .attached(id))

        let wrong = sessions.resume(SessionCredentials(id: id, password: [0]), on: secondID, zxid: 7)
        #expect(wrong.outcome == .failed(ErrorReply(.sessionExpired(id))))
        #expect(first.isActive)

        let resumed = sessions.resume(SessionCredentials(id: id, password: password), on: secondID, zxid: 7)
        #expect(resumed.outcome == .ok(zxid: 7, .connected(session: id, password: nil, timeoutMilliseconds: 60_000)))
        #expect(resumed.session == .attached(id))
        #expect(!first.isActive, "the connection the session was on is closed")
        #expect(sessions.table.expire().isEmpty)

        let closed = try #require(Self.answer { sessions.close(id, completion: $0) })
        #expect(closed.session == .detached && closed.then == .close)
        #expect(sessions.count == 0)
        #expect(!sessions.touch(id), "a closed session is gone")
    }

    /// The answer `start` hands its completion (on the store's writer thread), waited for.
    static func answer(_ start: (@escaping @Sendable (Answer) -> Void) -> Void) -> Answer? {
        let done = DispatchSemaphore(value: 0)
        let answer = Mutex<Answer?>(nil)
        start { result in
            answer.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        return answer.withLock { $0 }
    }
}
