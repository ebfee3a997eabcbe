import CairnCore
import CairnProtocol
import NIOCore
import Synchronization

/// A connection's number, unique for the life of the server process.
typealias ConnectionID = UInt64

/// A way to reach a connection from any thread: what is posted to its inbox is written on its event loop,
/// in call order.
struct ConnectionHandle: Sendable {
    let id: ConnectionID
    let channel: any Channel
    let inbox: ConnectionInbox
    let identity: ConnectionIdentity

    func send(_ events: [PushedEvent]) { inbox.post(.events(events)) }

    /// Sends the events, then closes the connection.
    func sendAndClose(_ events: [PushedEvent]) {
        inbox.post(.events(events))
        inbox.post(.close)
    }
}

/// The open connections, by id: how watch events and session expiry reach them.
final class ConnectionRegistry: Sendable {
    private let state = Mutex<(next: ConnectionID, open: [ConnectionID: ConnectionHandle])>((1, [:]))

    var count: Int { state.withLock { $0.open.count } }

    /// Registers a channel, whose caller has proved `identity` so far, unless `limit` connections are open; returns
    /// its handle.
    func add(_ channel: any Channel, identity: Identity, limit: Int) -> ConnectionHandle? {
        state.withLock { state in
            guard state.open.count < limit else { return nil }
            let handle = ConnectionHandle(
                id: state.next, channel: channel, inbox: ConnectionInbox(channel: channel),
                identity: ConnectionIdentity(identity))
            state.next += 1
            state.open[handle.id] = handle
            return handle
        }
    }

    func remove(_ id: ConnectionID) { state.withLock { _ = $0.open.removeValue(forKey: id) } }

    func handle(_ id: ConnectionID) -> ConnectionHandle? { state.withLock { $0.open[id] } }

    func all() -> [ConnectionHandle] { state.withLock { Array($0.open.values) } }
}
