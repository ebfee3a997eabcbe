import Cairn
import FoundationEssentials
import ServiceLifecycle
import Synchronization

/// Service registration and discovery as curator-x-discovery lays it out: instance `id` of service `name` is the
/// node `/services/<name>/<id>` holding its `ServiceInstance` JSON; a `dynamic` instance's node is ephemeral, so it
/// vanishes when its process's session ends.
///
/// Run it (`run()`, e.g. in a `ServiceGroup` beside the client) to register every instance again after a session
/// expiry.
public final class ServiceRegistry: Service, Sendable {
    public enum Error: Swift.Error, Hashable {
        /// Curator's `DYNAMIC_SEQUENTIAL` names its node by a sequence number the id does not know in advance; it is
        /// not supported here.
        case unsupportedServiceType(ServiceInstance.ServiceType)
    }

    public static let defaultRoot = "/services"

    let client: CairnClient
    /// The directory holding one child per service (Curator's base path).
    public let root: String
    private let registrations = Mutex<[Registration]>([])

    public init(client: CairnClient, root: String = ServiceRegistry.defaultRoot) {
        self.client = client
        self.root = root
    }

    func directory(_ name: String) -> String { root + "/" + name }

    /// Registers `instance` as one of service `name`; it stays registered while this client's session lives (and is
    /// registered again after an expiry while `run()` runs). A registration whose reply was lost is found again by
    /// its id, never made twice; a node left with the same id by an earlier session is replaced, as Curator does.
    public func register(_ name: String, _ instance: ServiceInstance) async throws -> Registration {
        guard instance.serviceType != .dynamicSequential else {
            throw Error.unsupportedServiceType(instance.serviceType)
        }
        var instance = instance
        instance.name = name
        instance.registrationTimeUTC = Int64(Date().timeIntervalSince1970 * 1000)
        let registration = Registration(registry: self, instance: instance)
        try await registration.create()
        registrations.withLock { $0.append(registration) }
        return registration
    }

    /// The names of the registered services (curator-x-discovery's `queryForNames`).
    public func serviceNames() async throws -> [String] {
        do {
            return try await client.children(root)
        } catch let error as ClientError where error.code == .noNode {
            return []
        }
    }

    /// The enabled instances of `name`, read from the server now.
    public func discover(_ name: String) async throws -> [ServiceInstance] {
        try await instances(of: name).filter(\.enabled)
    }

    /// All registered instances of `name`, enabled or not, by id. A node that is not an instance's JSON is skipped.
    public func instances(of name: String) async throws -> [ServiceInstance] {
        let directory = directory(name)
        let ids: [String]
        do {
            ids = try await client.children(directory)
        } catch let error as ClientError where error.code == .noNode {
            return []
        }
        var found: [ServiceInstance] = []
        for id in ids {
            guard let node = try? await client.get(directory + "/" + id),
                let instance = ServiceInstance.decode(node.data)
            else { continue }
            found.append(instance)
        }
        return found
    }

    /// Registers again the instances whose session expired, until cancelled.
    public func run() async throws {
        for await state in client.states().cancelOnGracefulShutdown() where state == .connected {
            for registration in registrations.withLock({ $0 }) where !registration.isWithdrawn {
                do {
                    try await registration.create()
                } catch {
                    client.logger.warning(
                        "re-registering failed",
                        metadata: ["service": "\(registration.instance.name)", "error": "\(error)"])
                }
            }
        }
    }

    func forget(_ registration: Registration) {
        registrations.withLock { $0.removeAll { $0 === registration } }
    }
}

/// One registered instance: change what it says (`update`, `markDown`, `markUp`), or withdraw it.
public final class Registration: Sendable {
    private let registry: ServiceRegistry
    private let state: Mutex<(instance: ServiceInstance, withdrawn: Bool)>
    /// The instance's node.
    public let path: String

    init(registry: ServiceRegistry, instance: ServiceInstance) {
        self.registry = registry
        path = registry.directory(instance.name) + "/" + instance.id
        state = Mutex((instance, false))
    }

    /// The instance as last registered or updated.
    public var instance: ServiceInstance { state.withLock { $0.instance } }
    var isWithdrawn: Bool { state.withLock { $0.withdrawn } }

    /// Creates the node, or takes it when this session already made it (a create whose reply was lost); a node
    /// another session left there is replaced, a persistent one overwritten.
    func create() async throws {
        let client = registry.client
        let mode: CreateMode = instance.serviceType == .dynamic ? .ephemeral : .persistent
        try await client.createParents(registry.directory(instance.name))
        while true {
            switch try await client.createOnce(path, data: instance.encoded, mode: mode) {
            case .made: return
            case .thisSession,
                .another where mode == .persistent:
                try await client.set(path, data: instance.encoded)
                return
            case .another:
                try? await client.delete(path)
            }
        }
    }

    /// Replaces what the instance says (address, metadata, tags, weight, …) in place; its name and id stay.
    public func update(_ change: (inout ServiceInstance) -> Void) async throws {
        let data = state.withLock { s in
            let (name, id, time) = (s.instance.name, s.instance.id, s.instance.registrationTimeUTC)
            change(&s.instance)
            (s.instance.name, s.instance.id, s.instance.registrationTimeUTC) = (name, id, time)
            return s.instance.encoded
        }
        try await registry.client.set(path, data: data)
    }

    /// Marks the instance down: it stays registered, discovery skips it.
    public func markDown() async throws { try await update { $0.enabled = false } }

    public func markUp() async throws { try await update { $0.enabled = true } }

    /// Removes the instance for good.
    public func withdraw() async throws {
        state.withLock { $0.withdrawn = true }
        registry.forget(self)
        do {
            try await registry.client.delete(path)
        } catch let error as ClientError where error.code == .noNode {
            return
        }
    }
}
