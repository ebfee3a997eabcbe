import Cairn

/// A counting semaphore across processes, as Curator's `InterProcessSemaphoreV2` (same layout, so the two share
/// leases on one path): at most `maxLeases` leases are held at once, each an ephemeral sequential node under
/// `<path>/leases`; acquirers wait their turn behind a `DistributedLock` on `<path>/locks`, so they are served in
/// order. A lease whose holder's session expires goes with it.
public final class CountingSemaphore: Sendable {
    public let maxLeases: Int
    private let client: CairnClient
    private let leases: SequentialQueue
    private let turnstile: DistributedLock

    public convenience init(client: CairnClient, name: String, maxLeases: Int) {
        self.init(client: client, path: "/semaphores/" + name, maxLeases: maxLeases)
    }

    public init(client: CairnClient, path: String, maxLeases: Int) {
        self.client = client
        self.maxLeases = max(maxLeases, 1)
        leases = SequentialQueue(client: client, directory: path + "/leases", prefix: "lease-")
        turnstile = DistributedLock(client: client, path: path + "/locks")
    }

    /// A lease held: return it with `release()` (a lease its session outlives is never returned by itself).
    public struct Lease: Sendable, Hashable {
        /// The lease's node.
        public let path: String
    }

    /// Waits for a lease, up to `timeout`; throws `RecipeError.timedOut` past it (taking nothing).
    public func acquire(timeout: Duration? = nil) async throws -> Lease {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        try await turnstile.acquire(timeout: timeout)
        var name: String?
        do {
            name = try await leases.enqueue(data: [])
            while true {
                let (holders, watch) = try await client.childrenAndWatch(leases.directory)
                let held = holders.filter { leases.kind(of: $0) != nil }
                if !held.contains(name!) {
                    name = try await leases.enqueue(data: [])  // its session expired meanwhile: take another
                    continue
                }
                if held.count <= maxLeases { break }
                try await waiting(until: deadline) { _ = try await watch.fired() }
            }
            await turnstile.release()
            return Lease(path: leases.directory + "/" + name!)
        } catch {
            if let name { await leases.leave(name) }
            await turnstile.release()
            throw error
        }
    }

    /// Returns a lease.
    public func release(_ lease: Lease) async {
        try? await client.delete(lease.path)
    }

    /// Runs `body` holding a lease, and returns it after, even when `body` throws.
    public func withLease<T: Sendable>(timeout: Duration? = nil, _ body: () async throws -> T) async throws -> T {
        let lease = try await acquire(timeout: timeout)
        do {
            let result = try await body()
            await release(lease)
            return result
        } catch {
            await release(lease)
            throw error
        }
    }
}
