import CairnCore
import CairnProtocol
import CairnStore

/// get, exists and children: answered from one consistent read view, on the event loop (LMDB reads
/// never wait for the writer). A watch is registered before the read, so no change can slip between them;
/// get and children on a missing node leave no watch, as in ZooKeeper.
extension ConnectionHandler {
    func get(id: Int64?, path: ZNodePath, watch: Bool) throws -> (line: [UInt8], zxid: Zxid) {
        if watch { try addWatch(.data, path) }
        guard let (node, zxid) = try server.store.read({ view in try view.node(at: path).map { ($0, try view.zxid) } })
        else {
            if watch { server.watches.remove(on: path, for: connectionID) }
            throw CairnError.noNode(path)
        }
        let line = Reply.node(data: node.data, stat: node.stat).line(id: id, zxid: zxid, reusing: replyStorage())
        return (line, zxid)
    }

    func exists(id: Int64?, path: ZNodePath, watch: Bool) throws -> (line: [UInt8], zxid: Zxid) {
        if watch { try addWatch(.data, path) }
        let (stat, zxid) = try server.store.read { view in (try view.stat(at: path), try view.zxid) }
        let line = Reply.exists(stat).line(id: id, zxid: zxid, reusing: replyStorage())
        return (line, zxid)
    }

    func children(id: Int64?, path: ZNodePath, watch: Bool) throws -> (line: [UInt8], zxid: Zxid) {
        if watch { try addWatch(.child, path) }
        guard
            let (listing, zxid) = try server.store.read({ view in
                try view.children(of: path).map { ($0, try view.zxid) }
            })
        else {
            if watch { server.watches.remove(on: path, for: connectionID) }
            throw CairnError.noNode(path)
        }
        let line = Reply.children(listing.names, stat: listing.stat).line(id: id, zxid: zxid, reusing: replyStorage())
        return (line, zxid)
    }

    private func addWatch(_ kind: WatchRegistry.OneShot, _ path: ZNodePath) throws {
        try server.watches.addOneShot(
            kind, on: path, for: connectionID, limit: server.configuration.maxWatchesPerConnection)
    }
}
