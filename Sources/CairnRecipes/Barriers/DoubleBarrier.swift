import Cairn
import FoundationEssentials

/// A double barrier across processes, as Curator's `DistributedDoubleBarrier`: `enter()` waits until `memberCount`
/// members have entered, `leave()` until all of them have left, so a group starts and ends a computation together.
/// Each member is an ephemeral node `<path>/<id>`; the one that completes the group creates `<path>/ready`. A member
/// whose session expires counts as having left.
public final class DoubleBarrier: Sendable {
    static let readyName = "ready"

    public let client: CairnClient
    public let path: String
    public let memberCount: Int
    private let id = UUID().uuidString.lowercased()

    public init(client: CairnClient, path: String, memberCount: Int) {
        self.client = client
        self.path = path
        self.memberCount = max(memberCount, 1)
    }

    private var ready: String { path + "/" + Self.readyName }
    private var mine: String { path + "/" + id }

    /// Enters, and waits until `memberCount` members have; throws `RecipeError.timedOut` (leaving again) past
    /// `timeout`.
    public func enter(timeout: Duration? = nil) async throws {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        try await client.createParents(path)
        do {
            try await client.createEphemeralOnce(mine)
            while true {
                let (stat, watch) = try await client.existsAndWatch(ready)
                if stat != nil { return }
                if try await members().count >= memberCount {
                    do {
                        try await client.create(ready)
                    } catch let error as ClientError where error.code == .nodeExists {}
                    return
                }
                try await waiting(until: deadline) { _ = try await watch.fired() }
            }
        } catch {
            try? await client.delete(mine)
            throw error
        }
    }

    /// Leaves, and waits until every member has; throws `RecipeError.timedOut` past `timeout`. The last to go
    /// lowers the `ready` node, so the barrier can be used again.
    public func leave(timeout: Duration? = nil) async throws {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        do {
            try await client.delete(mine)
        } catch let error as ClientError where error.code == .noNode {}
        while true {
            let (children, watch) = try await client.childrenAndWatch(path)
            if !children.contains(where: { $0 != Self.readyName }) {
                try? await client.delete(ready)
                return
            }
            try await waiting(until: deadline) { _ = try await watch.fired() }
        }
    }

    private func members() async throws -> [String] {
        try await client.children(path).filter { $0 != Self.readyName }
    }
}
