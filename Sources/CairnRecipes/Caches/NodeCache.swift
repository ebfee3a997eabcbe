import Cairn
import Synchronization

/// One node mirrored in memory, as Curator's `NodeCache`: `run()` reads it and re-reads it on every event of a
/// persistent watch (resumed after reconnects with `since_zxid`, so no change is missed); `current` is nil while the
/// node does not exist.
public final class NodeCache: Sendable {
    public let client: CairnClient
    public let path: String
    private let state = Mutex<(current: NodeData?, listeners: [AsyncStream<NodeData?>.Continuation])>((nil, []))

    public init(client: CairnClient, path: String) {
        self.client = client
        self.path = path
    }

    /// The node as last read.
    public var current: NodeData? { state.withLock { $0.current } }

    /// Every new state of the node, starting with the current one.
    public func updates() -> AsyncStream<NodeData?> {
        let (stream, continuation) = AsyncStream<NodeData?>.makeStream()
        state.withLock { s in
            continuation.yield(s.current)
            s.listeners.append(continuation)
        }
        return stream
    }

    /// Keeps `current` up to date until cancelled.
    public func run() async throws {
        let events = try await client.watch(path)
        try await retryingConnectionLoss { try await reread() }
        for try await _ in events { try await retryingConnectionLoss { try await reread() } }
    }

    private func reread() async throws {
        let node = try await client.getIfExists(path)
        state.withLock { s in
            guard s.current != node else { return }
            s.current = node
            for listener in s.listeners { listener.yield(node) }
        }
    }
}
