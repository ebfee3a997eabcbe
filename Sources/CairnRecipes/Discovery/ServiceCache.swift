import Cairn
import Synchronization

/// A local, watch-driven view of one service's enabled instances, so lookups do not reach the server: `run()` keeps
/// it current from one recursive watch (resumed after reconnects, so no change is missed), re-reading only the
/// instance an event names. Choose from it through a `ServiceProvider`.
public final class ServiceCache: Sendable {
    private let registry: ServiceRegistry
    public let service: String
    /// The view by id, and who is told of changes, under one lock so a new listener misses nothing.
    private let state = Mutex<
        (instances: [String: ServiceInstance], listeners: [AsyncStream<[ServiceInstance]>.Continuation])
    >(([:], []))

    public init(registry: ServiceRegistry, service: String) {
        self.registry = registry
        self.service = service
    }

    /// The enabled instances as last seen, by id.
    public var instances: [ServiceInstance] { state.withLock { Self.enabled($0.instances) } }

    /// Every new set of enabled instances, starting with the current one.
    public func updates() -> AsyncStream<[ServiceInstance]> {
        let (stream, continuation) = AsyncStream<[ServiceInstance]>.makeStream()
        state.withLock { state in
            continuation.yield(Self.enabled(state.instances))
            state.listeners.append(continuation)
        }
        return stream
    }

    /// Watches the service's directory and keeps the view current, until cancelled.
    public func run() async throws {
        let client = registry.client
        let directory = registry.directory(service)
        try await client.createParents(directory)
        let events = try await client.watch(directory, recursive: true)
        try await retryingConnectionLoss { try await reload() }
        for try await event in events {
            if event.path == directory {
                try await retryingConnectionLoss { try await reload() }
            } else if let id = event.path.dropFirst(directory.count + 1).split(separator: "/").first,
                event.path.count == directory.count + 1 + id.count
            {
                try await retryingConnectionLoss { try await reread(String(id)) }
            }
        }
    }

    private func reload() async throws {
        let all = try await registry.instances(of: service)
        publish { $0 = Dictionary(all.map { ($0.id, $0) }) { _, last in last } }
    }

    private func reread(_ id: String) async throws {
        let node = try await registry.client.getIfExists(registry.directory(service) + "/" + id)
        let instance = node.flatMap { ServiceInstance.decode($0.data) }
        publish { $0[id] = instance }
    }

    private func publish(_ change: (inout [String: ServiceInstance]) -> Void) {
        state.withLock { s in
            let before = Self.enabled(s.instances)
            change(&s.instances)
            let after = Self.enabled(s.instances)
            guard before != after else { return }
            for listener in s.listeners { listener.yield(after) }
        }
    }

    private static func enabled(_ instances: [String: ServiceInstance]) -> [ServiceInstance] {
        instances.values.filter(\.enabled).sorted { $0.id < $1.id }
    }
}
