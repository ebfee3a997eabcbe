import Cairn

/// Group membership, as Curator's `GroupMember`: this member is a `PersistentEphemeralNode` `<path>/<id>` holding
/// its data (there while the process runs, made again after a session expiry); everyone's view of the group is a
/// `TreeCache` of `path`.
public final class GroupMember: Sendable {
    public let id: String
    public let path: String
    private let node: PersistentEphemeralNode
    private let cache: TreeCache

    public init(client: CairnClient, path: String, id: String, data: [UInt8] = []) {
        self.id = id
        self.path = path
        node = PersistentEphemeralNode(client: client, path: path + "/" + id, data: data)
        cache = TreeCache(client: client, root: path)
    }

    /// The members as last seen: id to data.
    public var members: [String: [UInt8]] {
        Dictionary(
            uniqueKeysWithValues: cache.children(of: path).compactMap { id in
                cache.node(at: path + "/" + id).map { (id, $0.data) }
            })
    }

    /// Every change to the membership (a member's node added, updated or removed).
    public func changes() -> AsyncStream<TreeCache.Change> { cache.changes() }

    /// Changes this member's data.
    public func setData(_ data: [UInt8]) async throws { try await node.setData(data) }

    /// Is a member, and keeps `members` current, until cancelled; then leaves.
    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.node.run() }
            group.addTask { try await self.cache.run() }
            try await group.next()
            group.cancelAll()
        }
    }

    /// The members of the group at `path`, read from the server now: id to data.
    public static func members(at path: String, client: CairnClient) async throws -> [String: [UInt8]] {
        var found: [String: [UInt8]] = [:]
        for id in try await client.children(path) {
            if let node = try? await client.get(path + "/" + id) { found[id] = node.data }
        }
        return found
    }
}
