import Logging
import ServiceLifecycle

/// The store as a swift-service-lifecycle `Service`: opened (recovered) before the group runs, closed when the
/// group shuts down. Listed before the services that write to it, so a `ServiceGroup` stops them first (it stops
/// services in reverse order) and the store closes only once they have drained.
extension Store: Service {
    /// Opens the store (`open`), recovering on a thread of its own: replaying a long WAL or copying in a snapshot
    /// must not hold a thread of Swift's cooperative pool.
    public static func opened(_ configuration: Configuration, logger: Logger) async throws -> Store {
        try await onThreadOfItsOwn { try open(configuration, logger: logger) }
    }

    /// Waits for the group's shutdown (or cancellation), then closes the store off the cooperative pool.
    public func run() async throws {
        try? await gracefulShutdown()
        try await Self.onThreadOfItsOwn { self.close() }
    }

    private static func onThreadOfItsOwn<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DedicatedThread.start { continuation.resume(with: Result(catching: body)) }
        }
    }
}
