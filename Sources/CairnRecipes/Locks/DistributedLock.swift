import Cairn
import Synchronization

/// Mutual exclusion across processes: ephemeral sequential nodes under `/locks/<name>/`; the lowest
/// holds the lock, each waiter watches only its predecessor. A holder whose session expires loses the
/// lock (its node goes).
public final class DistributedLock: Sendable {
    public enum Error: Swift.Error, Hashable {
        /// The lock was not acquired within the timeout.
        case timedOut
    }

    private let queue: SequentialQueue
    /// While held: the lock node's name, how many acquisitions are not yet released, the fencing token.
    private let held = Mutex<(name: String, count: Int, token: UInt64)?>(nil)

    /// How long a suspended connection may last before `lost()` says the lock may be lost.
    private let suspendedGrace: Duration

    /// `suspendedGrace`: how long the holder's connection may stay suspended before `lost()` reports it (at once by
    /// default: the session may expire unseen meanwhile).
    public init(client: CairnClient, name: String, suspendedGrace: Duration = .zero) {
        queue = SequentialQueue(client: client, directory: "/locks/" + name, prefix: "lock-")
        self.suspendedGrace = suspendedGrace
    }

    /// While the lock is held: waits until it may have been lost and says why — its node deleted, its session
    /// expired, or its connection suspended past the grace. A holder should stop touching the guarded resource then.
    /// nil when the lock is not held, or is released meanwhile.
    public func lost() async -> HoldLoss? {
        guard let name = held.withLock({ $0?.name }) else { return nil }
        let loss = await holdLost(client: queue.client, path: queue.directory + "/" + name, grace: suspendedGrace)
        return held.withLock { $0?.name == name } ? loss : nil
    }

    /// While the lock is held, the zxid that created its node: it only grows from one holder to the next, so the
    /// resource the lock guards can refuse a write that carries a token lower than one it has seen (a holder that
    /// lost the lock without knowing it, e.g. after a long pause).
    public var fencingToken: UInt64? { held.withLock { $0?.token } }

    /// Waits for the lock, up to `timeout`; throws `Error.timedOut` (and leaves the queue) past it. Re-entrant: a
    /// holder that acquires again holds it once more, and keeps it until it has released as often.
    public func acquire(timeout: Duration) async throws {
        let reentered = held.withLock { hold in
            guard hold != nil else { return false }
            hold!.count += 1
            return true
        }
        if reentered { return }
        let deadline = ContinuousClock.now + timeout
        var name = try await queue.enqueue(data: [])
        do {
            while true {
                switch try await queue.position(of: name) {
                case .first:
                    guard let stat = try await queue.client.exists(queue.directory + "/" + name) else {
                        name = try await queue.enqueue(data: [])
                        continue
                    }
                    held.withLock { $0 = (name, 1, stat.czxid) }
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

    /// Releases one acquisition; the last one gives the lock up.
    public func release() async {
        let last: String? = held.withLock { hold in
            guard let current = hold else { return nil }
            guard current.count == 1 else {
                hold!.count -= 1
                return nil
            }
            hold = nil
            return current.name
        }
        if let last { await queue.leave(last) }
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
