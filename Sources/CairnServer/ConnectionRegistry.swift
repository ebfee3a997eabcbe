import NIOCore
import Synchronization

/// A connection's number, unique for the life of the server process.
typealias ConnectionID = UInt64

/// A way to reach a connection from any thread: lines are written on its event loop, in call order.
struct ConnectionHandle: Sendable {
    let id: ConnectionID
    let channel: any Channel

    func send(_ lines: [[UInt8]]) {
        let channel = self.channel
        channel.eventLoop.execute {
            for line in lines {
                var buffer = channel.allocator.buffer(capacity: line.count)
                buffer.writeBytes(line)
                channel.write(buffer, promise: nil)
            }
            channel.flush()
        }
    }

    /// Sends the lines, then closes the connection.
    func sendAndClose(_ lines: [[UInt8]]) {
        send(lines)
        let channel = self.channel
        channel.eventLoop.execute { channel.close(promise: nil) }
    }
}

/// The open connections, by id: how watch events and session expiry reach them.
final class ConnectionRegistry: Sendable {
    private let state = Mutex<(next: ConnectionID, open: [ConnectionID: ConnectionHandle])>((1, [:]))

    var count: Int { state.withLock { $0.open.count } }

    /// Registers a channel unless `limit` connections are open; returns its handle.
    func add(_ channel: any Channel, limit: Int) -> ConnectionHandle? {
        state.withLock { state in
            guard state.open.count < limit else { return nil }
            let handle = ConnectionHandle(id: state.next, channel: channel)
            state.next += 1
            state.open[handle.id] = handle
            return handle
        }
    }

    func remove(_ id: ConnectionID) { state.withLock { _ = $0.open.removeValue(forKey: id) } }

    func handle(_ id: ConnectionID) -> ConnectionHandle? { state.withLock { $0.open[id] } }

    func all() -> [ConnectionHandle] { state.withLock { Array($0.open.values) } }
}
