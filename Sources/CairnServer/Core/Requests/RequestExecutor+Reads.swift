import CairnCore
import CairnProtocol
import CairnStore

/// get, exists and children: answered from one consistent read view, on the connection's event loop (LMDB reads
/// never wait for the writer). A watch is registered before the read, so no change can slip between them; get and
/// children on a missing node leave no watch, as in ZooKeeper.
extension RequestExecutor {
    func get(_ path: ZNodePath, watch: Bool, for connection: ConnectionScope) throws -> (answer: Answer, zxid: Zxid) {
        if watch { try watches.addOneShot(.data, on: path, for: connection.id) }
        guard let (node, zxid) = try store.read({ view in try view.node(at: path).map { ($0, try view.zxid) } })
        else {
            if watch { watches.remove(on: path, for: connection.id) }
            throw CairnError.noNode(path)
        }
        return (Answer(.ok(zxid: zxid, .node(data: node.data, stat: node.stat))), zxid)
    }

    func exists(_ path: ZNodePath, watch: Bool, for connection: ConnectionScope) throws -> (answer: Answer, zxid: Zxid)
    {
        if watch { try watches.addOneShot(.data, on: path, for: connection.id) }
        let (stat, zxid) = try store.read { view in (try view.stat(at: path), try view.zxid) }
        return (Answer(.ok(zxid: zxid, .exists(stat))), zxid)
    }

    func children(_ path: ZNodePath, watch: Bool, for connection: ConnectionScope) throws -> (
        answer: Answer, zxid: Zxid
    ) {
        if watch { try watches.addOneShot(.child, on: path, for: connection.id) }
        guard
            let (listing, zxid) = try store.read({ view in
                try view.children(of: path).map { ($0, try view.zxid) }
            })
        else {
            if watch { watches.remove(on: path, for: connection.id) }
            throw CairnError.noNode(path)
        }
        return (Answer(.ok(zxid: zxid, .children(listing.names, stat: listing.stat))), zxid)
    }
}
