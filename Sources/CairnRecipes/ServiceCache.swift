import Cairn
import Synchronization

/// A local, watch-driven view of a service's healthy instances, so lookups do not hit the server:
/// `run()` keeps it current; `next(_:)` picks an instance for client-side load balancing.
public final class ServiceCache: Sendable {
    public enum Strategy: Sendable { case roundRobin, random }

    private let registry: ServiceRegistry
    public let service: String
    /// The view, the round-robin turn, and who is told of changes, under one lock so a new listener
    /// misses nothing.
    private let state = Mutex<
        (instances: [ServiceInstance], turn: Int, listeners: [AsyncStream<[ServiceInstance]>.Continuation])
    >(([], 0, []))

    public init(registry: ServiceRegistry, service: String) {
        self.registry = registry
        self.service = service
    }

    /// The healthy instances as last seen.
    public var instances: [ServiceInstance] { state.withLock { $0.instances } }

    /// Every new set of healthy instances, starting with the current one.
    public func updates() -> AsyncStream<[ServiceInstance]> {
        let (stream, continuation) = AsyncStream<[ServiceInstance]>.makeStream()
        state.withLock { state in
            continuation.yield(state.instances)
            state.listeners.append(continuation)
        }
        return stream
    }

    /// An instance to call, or nil when there is none.
    public func next(_ strategy: Strategy = .roundRobin) -> ServiceInstance? {
        state.withLock { s in
            guard !s.instances.isEmpty else { return nil }
            switch strategy {
            case .random: return s.instances.randomElement()
            case .roundRobin:
                defer { s.turn &+= 1 }
                return s.instances[s.turn % s.instances.count]
            }
        }
    }

    /// Watches the service's directory (a persistent recursive watch, resumed across reconnects) and
    /// reloads the view on every change, until cancelled.
    public func run() async throws {
        let client = registry.client
        let directory = ServiceRegistry.directory(service)
        try await client.createParents(directory)
        let events = try await client.watch(directory, recursive: true)
        try await reload()
        for try await _ in events { try await reload() }
    }

    private func reload() async throws {
        let healthy = try await registry.instances(of: service).filter(\.healthy)
        state.withLock { s in
            guard s.instances != healthy else { return }
            s.instances = healthy
            for listener in s.listeners { listener.yield(healthy) }
        }
    }
}
