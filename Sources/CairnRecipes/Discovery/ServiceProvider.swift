import Synchronization

/// Picks an instance of a service to call, as curator-x-discovery's `ServiceProvider`: from a `ServiceCache`'s
/// enabled instances, those passing every filter and not reported down by callers, by the strategy.
public final class ServiceProvider: Sendable {
    public let cache: ServiceCache
    private let filters: [InstanceFilter]
    private let state: Mutex<(selector: InstanceSelector, down: DownInstances)>

    public init(
        cache: ServiceCache, strategy: SelectionStrategy = .roundRobin, filters: [InstanceFilter] = [],
        downInstancePolicy: DownInstancePolicy = DownInstancePolicy()
    ) {
        self.cache = cache
        self.filters = filters
        state = Mutex((InstanceSelector(strategy: strategy), DownInstances(policy: downInstancePolicy)))
    }

    /// Every instance that could be chosen now.
    public var candidates: [ServiceInstance] {
        let now = ContinuousClock.now
        let passing = cache.instances.filter { instance in filters.allSatisfy { $0.matches(instance) } }
        return state.withLock { s in passing.filter { !s.down.isDown($0.id, at: now) } }
    }

    /// An instance to call, or nil when none can be chosen.
    public func instance() -> ServiceInstance? {
        let candidates = candidates
        var generator = SystemRandomNumberGenerator()
        return state.withLock { $0.selector.choose(from: candidates, using: &generator) }
    }

    /// Reports that a call to `instance` failed: after the policy's threshold of errors it is not chosen until the
    /// policy's timeout has passed since the first (Curator's `noteError`).
    public func noteError(_ instance: ServiceInstance) {
        let now = ContinuousClock.now
        state.withLock { $0.down.noteError(instance.id, at: now) }
    }
}
