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
    let frontEnd: FrontEnd
    let channel: any Channel
    let inbox: ConnectionInbox
    let identity: ConnectionIdentity
    let statistics: ConnectionStatistics

    func send(_ events: [PushedEvent]) { inbox.post(.events(events)) }

    /// Sends the events, then closes the connection.
    func sendAndClose(_ events: [PushedEvent]) {
        inbox.post(.events(events))
        inbox.post(.close)
    }
}

/// The open connections, by id: how watch events and session expiry reach them.
final class ConnectionRegistry: Sendable {
    private struct State {
        var next: ConnectionID = 1
        var open: [ConnectionID: ConnectionHandle] = [:]
        /// The figures of the connections closed since the server started.
        var closed = Totals()
    }

    private let state = Mutex(State())

    var count: Int { state.withLock { $0.open.count } }

    /// Requests received and answers (and notifications) sent since the server started, and the answers' latencies.
    struct Totals: Sendable {
        var received: UInt64 = 0
        var sent: UInt64 = 0
        var latency = Latency()

        mutating func add(_ figures: ConnectionStatistics.Snapshot) {
            received += figures.received
            sent += figures.sent
            latency = latency.merged(with: figures.latency)
        }
    }

    var totals: Totals {
        let (closed, open) = state.withLock { ($0.closed, Array($0.open.values)) }
        var totals = closed
        for handle in open { totals.add(handle.statistics.snapshot) }
        return totals
    }

    /// Registers a channel, whose caller has proved `identity` so far, unless `limit` connections are open; returns
    /// its handle.
    func add(_ channel: any Channel, of frontEnd: FrontEnd, identity: Identity, limit: Int) -> ConnectionHandle? {
        let address = channel.remoteAddress
        let peer = "/\(address?.ipAddress ?? "?"):\(address?.port ?? 0)"
        return state.withLock { state in
            guard state.open.count < limit else { return nil }
            let handle = ConnectionHandle(
                id: state.next, frontEnd: frontEnd, channel: channel, inbox: ConnectionInbox(channel: channel),
                identity: ConnectionIdentity(identity), statistics: ConnectionStatistics(peer: peer))
            state.next += 1
            state.open[handle.id] = handle
            return handle
        }
    }

    func remove(_ id: ConnectionID) {
        state.withLock { state in
            if let handle = state.open.removeValue(forKey: id) { state.closed.add(handle.statistics.snapshot) }
        }
    }

    func handle(_ id: ConnectionID) -> ConnectionHandle? { state.withLock { $0.open[id] } }

    func all() -> [ConnectionHandle] { state.withLock { Array($0.open.values) } }
}
