import Cairn

/// Mutual exclusion across processes: ephemeral sequential nodes under `/locks/<name>/`; the lowest
/// holds the lock, each waiter watches only its predecessor. A holder whose session expires loses the
/// lock (its node goes).
public final class DistributedLock: Sendable {
    public enum Error: Swift.Error, Hashable {
        /// The lock was not acquired within the timeout.
        case timedOut
    }

    private let queue: SequentialQueue
    private let held = LockedName()

    public init(client: CairnClient, name: String) {
        queue = SequentialQueue(client: client, directory: "/locks/" + name, prefix: "lock-")
    }

    /// Waits for the lock, up to `timeout`; throws `Error.timedOut` (and leaves the queue) past it.
    public func acquire(timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        var name = try await queue.enqueue(data: [])
        do {
            while true {
                switch try await queue.position(of: name) {
                case .first:
                    held.set(name)
                    return
                case .gone:
                    name = try await queue.enqueue(data: [])
                case .behind(let predecessor):
                    try await waiting(until: deadline) { try await self.queue.waitFor(predecessor: predecessor) }
                }
            }
        } catch {
            await queue.leave(name)
            throw error
        }
    }

    /// Releases the lock if held.
    public func release() async {
        if let name = held.take() { await queue.leave(name) }
    }

    /// Runs `body` holding the lock, and releases it after, even when `body` throws.
    public func withLock<T: Sendable>(timeout: Duration, _ body: () async throws -> T) async throws -> T {
        try await acquire(timeout: timeout)
        do {
            let result = try await body()
            await release()
            return result
        } catch {
            await release()
            throw error
        }
    }

    /// Runs `wait`; a connection loss while waiting only means "look again".
    private func waiting(until deadline: ContinuousClock.Instant, _ wait: @escaping @Sendable () async throws -> Void)
        async throws
    {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                do {
                    try await wait()
                } catch let error as ClientError where error == .connectionLoss || error == .sessionExpired {
                    try await Task.sleep(for: .milliseconds(50))
                }
                return true
            }
            group.addTask {
                try await Task.sleep(until: deadline)
                return false
            }
            defer { group.cancelAll() }
            guard try await group.next() == true else { throw Error.timedOut }
        }
    }
}
