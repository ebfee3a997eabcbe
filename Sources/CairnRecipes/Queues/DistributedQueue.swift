import Cairn

/// A FIFO queue across processes, as Curator's `DistributedQueue`: each item a persistent sequential node
/// `<path>/items/_c_<GUID>-item-<seq>` (protected, so a put whose reply was lost is not queued twice), taken in
/// sequence order.
///
/// - `take()` removes the first item and returns it: at most once (a take whose delete reply was lost throws
///   `ClientError.connectionLoss`, and the item may be gone).
/// - `consume(_:)` is the locking consumer (Curator's lock path): it locks the first unlocked item with an ephemeral
///   node `<path>/locks/<item>`, runs the body, then deletes item and lock in one multi — at least once: a consumer
///   that dies or throws mid-body leaves the item for another.
public struct DistributedQueue: Sendable {
    public let client: CairnClient
    public let path: String
    private let items: SequentialQueue

    public init(client: CairnClient, path: String) {
        self.client = client
        self.path = path
        items = SequentialQueue(client: client, directory: path + "/items", prefix: "item-")
    }

    private var locks: String { path + "/locks" }

    /// Queues `data` at the back.
    public func put(_ data: [UInt8]) async throws {
        _ = try await client.createProtected(in: items.directory, prefix: "item-", data: data, mode: .persistent)
    }

    /// How many items wait (locked ones included).
    public func count() async throws -> Int { try await waitingItems().count }

    /// Removes the first item no locking consumer has and returns its data, waiting for one up to `timeout`; throws `RecipeError.timedOut`
    /// past it.
    public func take(timeout: Duration? = nil) async throws -> [UInt8] {
        try await nextItem(timeout: timeout) { name in
            // An item a locking consumer has is not taken from under it.
            if try await client.exists(locks + "/" + name) != nil { return nil }
            let node = try await client.get(items.directory + "/" + name)
            try await client.delete(items.directory + "/" + name)
            return node.data
        }
    }

    /// Takes the first unlocked item and runs `body` on its data, deleting the item only when `body` returns; waits
    /// for one up to `timeout`.
    public func consume<T: Sendable>(timeout: Duration? = nil, _ body: ([UInt8]) async throws -> T) async throws -> T {
        try await client.createParents(locks)
        return try await nextItem(timeout: timeout) { name in
            let lock = locks + "/" + name
            try await client.createEphemeralOnce(lock)
            do {
                let node = try await client.get(items.directory + "/" + name)
                let result = try await body(node.data)
                _ = try await client.multi([.delete(items.directory + "/" + name), .delete(lock)])
                return result
            } catch {
                try? await client.delete(lock)
                throw error
            }
        }
    }

    /// Offers each waiting item in order to `attempt` until one succeeds; an item `attempt` passes over (nil), or
    /// another consumer got first (`no_node`, `node_exists`), is skipped. Waits for items when there are none.
    private func nextItem<T: Sendable>(
        timeout: Duration?, _ attempt: (String) async throws -> T?
    ) async throws -> T {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        try await client.createParents(items.directory)
        while true {
            let (children, watch) = try await client.childrenAndWatch(items.directory)
            for name in children.filter({ items.kind(of: $0) != nil }).sorted(by: SequentialQueue.bySequence) {
                do {
                    if let done = try await attempt(name) { return done }
                } catch let error as ClientError where error.code == .noNode || error.code == .nodeExists {
                    continue
                }
            }
            // Also look again each second: a lock whose consumer died goes without changing the items.
            let look = ContinuousClock.now + .seconds(1)
            do {
                try await waiting(until: deadline.map { min($0, look) } ?? look) { _ = try await watch.fired() }
            } catch RecipeError.timedOut where deadline.map({ ContinuousClock.now < $0 }) ?? true {
                continue
            }
        }
    }

    private func waitingItems() async throws -> [String] {
        do {
            return try await items.members()
        } catch let error as ClientError where error.code == .noNode {
            return []
        }
    }
}
