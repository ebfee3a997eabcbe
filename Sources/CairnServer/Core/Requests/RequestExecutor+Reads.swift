import CairnCore
import CairnProtocol
import CairnStore

/// get, exists, children and get_acl: answered from one consistent read view, on the connection's event loop (LMDB
/// reads never wait for the writer), after ZooKeeper's checks in its order (no_node, then the node's ACL). A watch is
/// registered before the read, so no change can slip between them; get and children on a missing node, and any
/// read refused by the ACL, leave no watch, as in ZooKeeper.
extension RequestExecutor {
    func get(_ path: ZNodePath, watch: Bool, as identity: Identity, for connection: ConnectionScope) throws -> (
        answer: Answer, zxid: Zxid
    ) {
        try watched(watch ? .data : nil, path, for: connection) {
            guard let (node, zxid) = try store.read({ view in try view.node(at: path).map { ($0, try view.zxid) } })
            else { throw CairnError.noNode(path) }
            try identity.check(.read, in: node.acl, at: path)
            return (Answer(.ok(zxid: zxid, .node(data: node.data, stat: node.stat))), zxid)
        }
    }

    /// A missing node leaves its watch (to hear of its creation) and needs no permission.
    func exists(_ path: ZNodePath, watch: Bool, as identity: Identity, for connection: ConnectionScope) throws -> (
        answer: Answer, zxid: Zxid
    ) {
        try watched(watch ? .data : nil, path, for: connection) {
            let (access, zxid) = try store.read { view in (try view.access(at: path), try view.zxid) }
            if let access { try identity.check(.read, in: access.acl, at: path) }
            return (Answer(.ok(zxid: zxid, .exists(access?.stat))), zxid)
        }
    }

    func children(_ path: ZNodePath, watch: Bool, as identity: Identity, for connection: ConnectionScope) throws -> (
        answer: Answer, zxid: Zxid
    ) {
        try watched(watch ? .child : nil, path, for: connection) {
            guard
                let (listing, zxid) = try store.read({ view in
                    try view.children(of: path).map { ($0, try view.zxid) }
                })
            else { throw CairnError.noNode(path) }
            try identity.check(.read, in: listing.acl, at: path)
            return (Answer(.ok(zxid: zxid, .children(listing.names, stat: listing.stat))), zxid)
        }
    }

    /// get and children in one read view, each failing alone (no_node, then READ), as ZooKeeper's multiRead.
    func readMulti(_ reads: [MultiRead], as identity: Identity) throws -> (answer: Answer, zxid: Zxid) {
        try store.read { view in
            let results = try reads.map { read -> Result<Reply, ErrorReply> in
                do {
                    switch read {
                    case .get(let path):
                        guard let node = try view.node(at: path) else { throw CairnError.noNode(path) }
                        try identity.check(.read, in: node.acl, at: path)
                        return .success(.node(data: node.data, stat: node.stat))
                    case .children(let path):
                        guard let listing = try view.children(of: path) else { throw CairnError.noNode(path) }
                        try identity.check(.read, in: listing.acl, at: path)
                        return .success(.children(listing.names, stat: listing.stat))
                    }
                } catch let error as CairnError {
                    return .failure(ErrorReply(error))
                }
            }
            let zxid = try view.zxid
            return (Answer(.ok(zxid: zxid, .reads(results))), zxid)
        }
    }

    /// READ on the node (after no_node), as ZooKeeper's getAllChildrenNumber; the subtree is walked only for a caller
    /// who may read it.
    func descendantCount(_ path: ZNodePath, as identity: Identity) throws -> ReplyLine.Outcome {
        try store.read { view in
            guard let access = try view.access(at: path) else { throw CairnError.noNode(path) }
            try identity.check(.read, in: access.acl, at: path)
            return .ok(zxid: try view.zxid, .count(try view.descendantCount(of: path) ?? 0))
        }
    }

    /// READ or ADMIN is enough; without ADMIN, digest ids are masked (`user:x`), as ZooKeeper does.
    func acl(_ path: ZNodePath, as identity: Identity) throws -> ReplyLine.Outcome {
        let (access, zxid) = try store.read { view in (try view.access(at: path), try view.zxid) }
        guard let (stat, acl) = access else { throw CairnError.noNode(path) }
        try identity.check([.read, .admin], in: acl, at: path)
        guard !identity.permits(.admin, in: acl) else { return .ok(zxid: zxid, .acl(acl, stat: stat)) }
        let masked = ACL(
            acl.map { entry in
                guard entry.principal.scheme == "digest", let colon = entry.principal.id.firstIndex(of: ":") else {
                    return entry
                }
                return ACLEntry(entry.permissions, Principal(scheme: "digest", id: entry.principal.id[..<colon] + ":x"))
            })
        return .ok(zxid: zxid, .acl(masked, stat: stat))
    }

    /// Sets the watches of a client's previous connection again (see `WatchRestore`), in one read view: the events of
    /// those that fire at once come before the reply, and only where the caller may READ the node (its nearest
    /// existing ancestor's ACL for a node that is gone).
    func restoreWatches(_ restore: WatchRestore, as identity: Identity, for connection: ConnectionScope) throws
        -> Answer
    {
        let since = restore.relativeZxid
        // What fires at once, with the ACL that decides who hears of it.
        var fired: [(type: WatchEventType, path: ZNodePath, acl: ACL)] = []
        // ZooKeeper's rules, in its order: what fires for a node that exists (nil: set the watch again), and for one
        // that is gone (nil: set it again, to hear of its creation).
        let rules:
            [(paths: [ZNodePath], kind: WatchHub.OneShot, present: (Stat) -> WatchEventType?, gone: WatchEventType?)] =
                [
                    (restore.data, .data, { $0.mzxid > since ? .dataChanged : nil }, .deleted),
                    (restore.exist, .data, { _ in .created }, nil),
                    (restore.child, .child, { $0.pzxid > since ? .childrenChanged : nil }, .deleted),
                ]
        let zxid = try store.read { view -> Zxid in
            for (paths, kind, present, gone) in rules {
                for path in paths {
                    if let (stat, acl) = try view.access(at: path) {
                        if let type = present(stat) {
                            fired.append((type, path, acl))
                        } else {
                            try watches.addOneShot(kind, on: path, for: connection.id)
                        }
                    } else if let gone {
                        fired.append((gone, path, try view.nearestACL(at: path)))
                    } else {
                        try watches.addOneShot(kind, on: path, for: connection.id)
                    }
                }
            }
            return try view.zxid
        }
        let events = fired.filter { identity.permits(.read, in: $0.acl) }.map {
            ServerEvent.watch(WatchNotification(type: $0.type, path: $0.path), zxid: zxid)
        }
        for path in restore.persistent {
            _ = try watches.addPersistent(on: path, recursive: false, for: connection.id, buffering: false)
        }
        for path in restore.persistentRecursive {
            _ = try watches.addPersistent(on: path, recursive: true, for: connection.id, buffering: false)
        }
        return Answer(.ok(zxid: zxid, .done), eventsBefore: events)
    }

    /// Runs `read` with a one-shot watch of `kind` (nil: none) registered first, removed again when the read throws.
    private func watched<T>(
        _ kind: WatchHub.OneShot?, _ path: ZNodePath, for connection: ConnectionScope, _ read: () throws -> T
    ) throws -> T {
        guard let kind else { return try read() }
        try watches.addOneShot(kind, on: path, for: connection.id)
        do {
            return try read()
        } catch {
            watches.remove(kind == .data ? .data : .child, on: path, for: connection.id)
            throw error
        }
    }
}
