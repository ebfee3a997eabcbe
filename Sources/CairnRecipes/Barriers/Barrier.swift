import Cairn

/// A barrier across processes, as Curator's `DistributedBarrier`: while the node at `path` exists, everyone who waits
/// on it blocks; removing it lets them all through.
public struct Barrier: Sendable {
    public let client: CairnClient
    public let path: String

    public init(client: CairnClient, path: String) {
        self.client = client
        self.path = path
    }

    /// Raises the barrier (creates its node; raised already is fine).
    public func raise() async throws {
        try await client.createParents(path.parentPath)
        while true {
            do {
                try await client.create(path)
                return
            } catch let error as ClientError where error.code == .nodeExists {
                return
            } catch let error as ClientError where error == .connectionLoss || error == .timedOut {
                continue  // made or not: the next attempt says
            }
        }
    }

    /// Removes the barrier: every waiter goes on.
    public func remove() async throws {
        do {
            try await client.delete(path)
        } catch let error as ClientError where error.code == .noNode {
            return
        }
    }

    /// Waits until the barrier is removed (at once when it is not raised), up to `timeout`; throws
    /// `RecipeError.timedOut` past it.
    public func wait(timeout: Duration? = nil) async throws {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        while true {
            let (stat, watch) = try await client.existsAndWatch(path)
            guard stat != nil else { return }
            try await waiting(until: deadline) { _ = try await watch.fired() }
        }
    }
}

extension String {
    /// The parent of a znode path (`/` for a top-level node).
    var parentPath: String {
        guard let slash = lastIndex(of: "/"), slash != startIndex else { return "/" }
        return String(self[..<slash])
    }
}
