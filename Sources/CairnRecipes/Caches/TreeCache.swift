import Cairn
import Synchronization

/// A subtree mirrored in memory, as Curator's `TreeCache`/`CuratorCache`, from one recursive persistent watch: the
/// watch is set before the tree is read, every event re-reads the node it names, and after a reconnect — a server
/// restart too — the watch resumes with `since_zxid` after the last event delivered, so no change is missed. When the
/// server no longer has that history (`compacted`), the whole tree is read again.
public final class TreeCache: Sendable {
    /// A change to the mirror, by path.
    public enum Change: Sendable, Hashable {
        case added(String)
        case updated(String)
        case removed(String)
    }

    public let client: CairnClient
    public let root: String
    private let state = Mutex<(nodes: [String: NodeData], listeners: [AsyncStream<Change>.Continuation])>(([:], []))

    public init(client: CairnClient, root: String) {
        self.client = client
        self.root = root
    }

    /// Every node of the subtree, the root's included, by path.
    public var nodes: [String: NodeData] { state.withLock { $0.nodes } }

    public func node(at path: String) -> NodeData? { state.withLock { $0.nodes[path] } }

    /// The names of the children of `path` as mirrored, sorted.
    public func children(of path: String) -> [String] {
        let prefix = path == "/" ? "/" : path + "/"
        return state.withLock { s in
            s.nodes.keys.filter { $0.hasPrefix(prefix) && $0.dropFirst(prefix.count).contains("/") == false }
                .map { String($0.dropFirst(prefix.count)) }.filter { !$0.isEmpty }.sorted()
        }
    }

    /// Every change to the mirror from now on.
    public func changes() -> AsyncStream<Change> {
        let (stream, continuation) = AsyncStream<Change>.makeStream()
        state.withLock { $0.listeners.append(continuation) }
        return stream
    }

    /// Keeps the mirror current until cancelled.
    public func run() async throws {
        while true {
            let events = try await client.watch(root, recursive: true)
            try await retryingConnectionLoss { try await reload() }
            do {
                for try await event in events { try await retryingConnectionLoss { try await reread(event.path) } }
                return
            } catch let error as ClientError where error.code == .compacted {
                continue
            }
        }
    }

    /// Reads the whole subtree and replaces the mirror with it.
    private func reload() async throws {
        var found: [String: NodeData] = [:]
        var pending = [root]
        while let path = pending.popLast() {
            do {
                found[path] = try await client.get(path)
                let prefix = path == "/" ? "/" : path + "/"
                pending += try await client.children(path).map { prefix + $0 }
            } catch let error as ClientError where error.code == .noNode {
                continue
            }
        }
        publish { nodes in
            let before = nodes
            nodes = found
            return before.keys.filter { found[$0] == nil }.map(Change.removed)
                + found.compactMap { path, node in
                    before[path] == nil ? .added(path) : before[path] != node ? .updated(path) : nil
                }
        }
    }

    /// Reads one node again: it is there (added or updated) or gone, and its subtree with it.
    private func reread(_ path: String) async throws {
        let node = try await client.getIfExists(path)
        publish { nodes in
            guard let node else {
                let prefix = path + "/"
                let gone = nodes.keys.filter { $0 == path || $0.hasPrefix(prefix) }
                for removed in gone { nodes[removed] = nil }
                return gone.map(Change.removed)
            }
            let before = nodes.updateValue(node, forKey: path)
            return before == nil ? [.added(path)] : before != node ? [.updated(path)] : []
        }
    }

    private func publish(_ change: (inout [String: NodeData]) -> [Change]) {
        state.withLock { s in
            for made in change(&s.nodes) {
                for listener in s.listeners { listener.yield(made) }
            }
        }
    }
}
