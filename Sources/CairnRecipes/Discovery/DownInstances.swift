/// When a caller's errors make an instance count as down, and for how long (curator-x-discovery's
/// `DownInstancePolicy`, with its defaults).
public struct DownInstancePolicy: Sendable, Hashable {
    /// How long an instance stays down after its first noted error.
    public var timeout: Duration
    /// How many noted errors within `timeout` make it down.
    public var errorThreshold: Int

    public init(timeout: Duration = .seconds(30), errorThreshold: Int = 2) {
        self.timeout = timeout
        self.errorThreshold = errorThreshold
    }
}

/// The instances callers reported failing, each forgotten `timeout` after its first error: a state machine on an
/// injected instant, so it is tested without sleeping.
struct DownInstances {
    let policy: DownInstancePolicy
    /// By instance id: when its first error in this round was noted, and how many since.
    private var errors: [String: (since: ContinuousClock.Instant, count: Int)] = [:]

    init(policy: DownInstancePolicy) { self.policy = policy }

    mutating func noteError(_ id: String, at now: ContinuousClock.Instant) {
        forgetExpired(at: now)
        errors[id, default: (now, 0)].count += 1
    }

    func isDown(_ id: String, at now: ContinuousClock.Instant) -> Bool {
        guard let noted = errors[id], now - noted.since < policy.timeout else { return false }
        return noted.count >= policy.errorThreshold
    }

    private mutating func forgetExpired(at now: ContinuousClock.Instant) {
        errors = errors.filter { now - $0.value.since < policy.timeout }
    }
}
