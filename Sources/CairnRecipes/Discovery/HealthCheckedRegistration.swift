import Cairn
import ServiceLifecycle

/// Registers an instance and keeps its `enabled` true to its own health, the job Consul's agent does: runs `check`
/// every `interval` (each within `timeout`), marks the instance down after `failuresBeforeDown` failures in a row and
/// up after `successesBeforeUp` passes in a row, and withdraws it when cancelled or at a graceful shutdown. Run it in
/// a `ServiceGroup` beside the client and the registry.
///
/// An instance stops being chosen at most `interval × failuresBeforeDown + timeout` after it went bad, plus the
/// moment the watches take to reach the caches.
public final class HealthCheckedRegistration: Service, Sendable {
    public let registry: ServiceRegistry
    public let service: String
    public let instance: ServiceInstance
    private let check: HealthCheck
    private let interval: Duration
    private let timeout: Duration
    private let failuresBeforeDown: Int
    private let successesBeforeUp: Int

    public init(
        registry: ServiceRegistry, service: String, instance: ServiceInstance, check: HealthCheck,
        interval: Duration = .seconds(10), timeout: Duration = .seconds(2), failuresBeforeDown: Int = 3,
        successesBeforeUp: Int = 2
    ) {
        self.registry = registry
        self.service = service
        self.instance = instance
        self.check = check
        self.interval = interval
        self.timeout = timeout
        self.failuresBeforeDown = failuresBeforeDown
        self.successesBeforeUp = successesBeforeUp
    }

    /// Registers, checks until cancelled or shut down, then withdraws. A check that fails to reach the server (a
    /// connection loss) is tried again at the next interval.
    public func run() async throws {
        let registration = try await registry.register(service, instance)
        await cancelWhenGracefulShutdown { await self.checking(registration) }
        try await registration.withdraw()
    }

    /// Checks every interval and publishes each change of health, until cancelled.
    private func checking(_ registration: Registration) async {
        let logger = registry.client.logger
        var tally = HealthTally(failuresBeforeDown: failuresBeforeDown, successesBeforeUp: successesBeforeUp)
        var published = true
        while !Task.isCancelled {
            let failure = await check.outcome(timeout: timeout)
            if let up = tally.record(passed: failure == nil) {
                logger.notice(
                    up ? "instance up" : "instance down",
                    metadata: ["instance": "\(registration.path)", "why": "\(failure ?? "checks pass")"])
            }
            if published != tally.up {
                do {
                    let up = tally.up
                    try await registration.update { $0.enabled = up }
                    published = up
                } catch {
                    logger.warning("marking the instance failed", metadata: ["error": "\(error)"])
                }
            }
            try? await Task.sleep(for: interval)
        }
    }
}
