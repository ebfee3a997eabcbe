import CairnCore
import CairnStore

/// A parsed, validated request.
enum Command: Sendable {
    case connect(timeoutMilliseconds: Int64, resume: (id: SessionID, password: [UInt8])?)
    case ping
    case close
    /// A change for the store's group commit.
    case change(Request)
    case get(ZNodePath, watch: Bool)
    case exists(ZNodePath, watch: Bool)
    case children(ZNodePath, watch: Bool)
    case sync(ZNodePath)
    case addWatch(ZNodePath, recursive: Bool, since: Zxid?)
    case removeWatch(ZNodePath)
    case stats
    /// Streams the subtree at the path from one read transaction (a consistent point-in-time dump).
    case dump(ZNodePath, stat: Bool)
    /// Takes a snapshot and streams its file.
    case snapshot
    case listSnapshots
}
