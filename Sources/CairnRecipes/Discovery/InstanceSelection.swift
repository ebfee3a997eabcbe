/// How a `ServiceProvider` picks among the instances that pass its filters (curator-x-discovery's strategies, and
/// Consul's weights).
public enum SelectionStrategy: Sendable, Hashable {
    /// Each in turn.
    case roundRobin
    /// Uniformly at random.
    case random
    /// The same instance for as long as it stays available; then the next in turn.
    case sticky
    /// At random, in proportion to each instance's `weight`.
    case weighted
}

/// A predicate an instance must pass to be chosen.
public struct InstanceFilter: Sendable {
    let matches: @Sendable (ServiceInstance) -> Bool

    public init(_ matches: @escaping @Sendable (ServiceInstance) -> Bool) { self.matches = matches }

    /// Instances carrying the tag.
    public static func tag(_ tag: String) -> InstanceFilter { InstanceFilter { $0.tags.contains(tag) } }

    /// Instances whose metadata has `key` set to `value`.
    public static func metadata(_ key: String, _ value: String) -> InstanceFilter {
        InstanceFilter { $0.metadata[key] == value }
    }
}

/// The choice itself, kept apart from the cache so it is tested alone: the round-robin turn and the sticky
/// instance live here.
struct InstanceSelector {
    let strategy: SelectionStrategy
    private var turn = 0
    private var stuck: String?

    init(strategy: SelectionStrategy) { self.strategy = strategy }

    /// One of `instances` (ordered by id), or nil when there is none.
    mutating func choose(
        from instances: [ServiceInstance], using generator: inout some RandomNumberGenerator
    ) -> ServiceInstance? {
        guard !instances.isEmpty else { return nil }
        switch strategy {
        case .roundRobin:
            return nextInTurn(instances)
        case .random:
            return instances.randomElement(using: &generator)
        case .sticky:
            if let stuck, let same = instances.first(where: { $0.id == stuck }) { return same }
            let chosen = nextInTurn(instances)
            stuck = chosen.id
            return chosen
        case .weighted:
            let total = instances.reduce(0) { $0 + max($1.weight, 0) }
            guard total > 0 else { return instances.randomElement(using: &generator) }
            var point = Int.random(in: 0..<total, using: &generator)
            for instance in instances {
                point -= max(instance.weight, 0)
                if point < 0 { return instance }
            }
            return instances.last
        }
    }

    private mutating func nextInTurn(_ instances: [ServiceInstance]) -> ServiceInstance {
        defer { turn &+= 1 }
        return instances[turn % instances.count]
    }
}
