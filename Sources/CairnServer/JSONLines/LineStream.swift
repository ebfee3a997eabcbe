import CairnProtocol
import NIOCore
import Synchronization

/// A streamed answer's events (dump, snapshot) as lines, written to a channel from a thread-pool thread in chunks
/// of 64 KiB (one event-loop hop and one flush per chunk, not per line), waiting for the socket to take them after
/// every MiB, so a stream of any length holds bounded memory.
final class LineStream: EventStream {
    let channel: any Channel
    private let state = Mutex((chunk: [UInt8](), unwaitedBytes: 0, last: EventLoopFuture<Void>?.none))

    init(channel: any Channel) { self.channel = channel }

    func send(_ event: ServerEvent) throws {
        let line = event.line()
        let full: [UInt8]? = state.withLock { state in
            state.chunk.append(contentsOf: line)
            guard state.chunk.count >= 64 << 10 else { return nil }
            defer { state.chunk = [] }
            return state.chunk
        }
        if let full { try write(full) }
    }

    /// Sends what is still buffered and waits until everything sent so far is written.
    func finish() throws {
        let rest = state.withLock { state in
            defer { state.chunk = [] }
            return state.chunk
        }
        if !rest.isEmpty { try write(rest) }
        try waitForWrites()
    }

    private func write(_ chunk: [UInt8]) throws {
        let future = channel.writeAndFlush(channel.allocator.buffer(bytes: chunk))
        let full = state.withLock { state in
            state.unwaitedBytes += chunk.count
            state.last = future
            return state.unwaitedBytes >= 1 << 20
        }
        if full { try waitForWrites() }
    }

    private func waitForWrites() throws {
        let last = state.withLock { state in
            defer { (state.unwaitedBytes, state.last) = (0, nil) }
            return state.last
        }
        try last?.wait()
    }
}
