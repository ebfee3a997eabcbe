import Cairn
import Synchronization

/// An ephemeral node that outlives its sessions, as Curator's `PersistentNode` in ephemeral mode: `run()` creates
/// it, and creates it again whenever it goes — its session expired, or someone deleted it — until cancelled, when it
/// deletes it. While another session holds a node at the path, it waits for that node to go first.
public final class PersistentEphemeralNode: Sendable {
    public let client: CairnClient
    public let path: String
    private let data: Mutex<[UInt8]>

    public init(client: CairnClient, path: String, data: [UInt8] = []) {
        self.client = client
        self.path = path
        self.data = Mutex(data)
    }

    /// Changes the node's data now (when it exists) and for every later re-creation.
    public func setData(_ new: [UInt8]) async throws {
        data.withLock { $0 = new }
        do {
            try await client.set(path, data: new)
        } catch let error as ClientError where error.code == .noNode {
            return
        }
    }

    /// Keeps the node there until cancelled, then deletes it.
    public func run() async throws {
        while !Task.isCancelled {
            do {
                try await ensureCreated()
                // Until its node goes or its session ends: a suspended connection is no reason to act.
                _ = await holdLost(client: client, path: path, grace: nil)
            } catch is CancellationError {
                break
            } catch {
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        if let stat = try? await client.exists(path), stat.ephemeralOwner?.hex == client.sessionID {
            try? await client.delete(path)
        }
    }

    /// Creates the node, takes it when this session made it already, or waits for another session's to go.
    private func ensureCreated() async throws {
        try await client.createParents(path.parentPath)
        while try await client.createOnce(path, data: data.withLock { $0 }, mode: .ephemeral) == .another {
            let (stat, watch) = try await client.existsAndWatch(path)
            if stat != nil { _ = try await watch.fired() }
        }
    }
}
