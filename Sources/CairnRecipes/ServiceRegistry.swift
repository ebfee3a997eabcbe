import Cairn
import ServiceLifecycle
import Synchronization

/// Service registration and discovery under `/services/<name>/`: each instance is an ephemeral
/// sequential node (protected: `CairnClient.createProtected`) holding its address as JSON, so it vanishes when its
/// process's session ends.
///
/// Run it (`run()`, e.g. in a `ServiceGroup` beside the client) to re-register every instance after a
/// session expiry.
public final class ServiceRegistry: Service, Sendable {
    public static let root = "/services"

    let client: CairnClient
    private let registrations = Mutex<[Registration]>([])

    public init(client: CairnClient) { self.client = client }

    static func directory(_ name: String) -> String { root + "/" + name }

    /// Registers an instance of service `name`; it stays registered while this client's session lives
    /// (and is registered again after an expiry while `run()` runs).
    public func register(_ name: String, _ instance: ServiceInstance) async throws -> Registration {
        let registration = Registration(registry: self, service: name, instance: instance)
        try await registration.create()
        registrations.withLock { $0.append(registration) }
        return registration
    }

    /// The healthy instances of `name`, read from the server now.
    public func discover(_ name: String) async throws -> [ServiceInstance] {
        try await instances(of: name).filter(\.healthy)
    }

    /// All registered instances of `name`, healthy or not.
    func instances(of name: String) async throws -> [ServiceInstance] {
        let directory = Self.directory(name)
        let ids: [String]
        do {
            ids = try await client.children(directory)
        } catch let error as ClientError where error.code == .noNode {
            return []
        }
        var found: [ServiceInstance] = []
        for id in ids.sorted() {
            guard let node = try? await client.get(directory + "/" + id),
                let instance = ServiceInstance.decode(node.data, id: id)
            else { continue }
            found.append(instance)
        }
        return found
    }

    /// Re-registers instances whose session expired, until cancelled.
    public func run() async throws {
        for await state in client.states().cancelOnGracefulShutdown() where state == .connected {
            for registration in registrations.withLock({ $0 }) where !registration.isWithdrawn {
                do {
                    try await registration.create()
                } catch {
                    client.logger.warning(
                        "re-registering failed", metadata: ["service": "\(registration.service)", "error": "\(error)"])
                }
            }
        }
    }

    func forget(_ registration: Registration) {
        registrations.withLock { $0.removeAll { $0 === registration } }
    }
}

/// One registered instance: mark it down or up (health), or withdraw it.
public final class Registration: Sendable {
    let service: String
    private let registry: ServiceRegistry
    private let state: Mutex<(instance: ServiceInstance, path: String?, withdrawn: Bool)>

    init(registry: ServiceRegistry, service: String, instance: ServiceInstance) {
        self.registry = registry
        self.service = service
        state = Mutex((instance, nil, false))
    }

    /// The instance's node path (changes when it is registered again after an expiry).
    public var path: String? { state.withLock { $0.path } }
    var isWithdrawn: Bool { state.withLock { $0.withdrawn } }

    func create() async throws {
        let client = registry.client
        let directory = ServiceRegistry.directory(service)
        let name = try await client.createProtected(
            in: directory, prefix: "instance-", data: state.withLock { $0.instance.encoded }, mode: .ephemeral)
        state.withLock { $0.path = directory + "/" + name }
    }

    /// Marks the instance unhealthy: it stays registered, discovery skips it.
    public func markDown() async throws { try await setHealthy(false) }

    public func markUp() async throws { try await setHealthy(true) }

    private func setHealthy(_ healthy: Bool) async throws {
        let (path, data) = state.withLock { s in
            s.instance.healthy = healthy
            return (s.path, s.instance.encoded)
        }
        if let path { try await registry.client.set(path, data: data) }
    }

    /// Removes the instance for good.
    public func withdraw() async throws {
        let path = state.withLock { s in
            s.withdrawn = true
            return s.path
        }
        registry.forget(self)
        if let path { try await registry.client.delete(path) }
    }
}
