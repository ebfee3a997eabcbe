import CairnCore
import CairnProtocol

/// Reads a subtree of a running ZooKeeper (3.6 or later) into memory so that it is consistent at one zxid, though
/// ZooKeeper has no point-in-time read: a persistent recursive watch on the subtree's root is set first; every node
/// is read (data, ACL, children: three requests, many nodes in flight); each node a notification names while that
/// goes on (and its parent) is read again; and it ends when a round trip after the last pass brings no
/// notification. Notifications come before any later reply, so then every node read is as it is at that round
/// trip's zxid, which the dump states. ZooKeeper sends no notification for an ACL change: one made during the dump
/// may be missed (docs/operations.md).
struct ZooKeeperTreeReader {
    struct Entry {
        var node: ZNode
        var children: [String]
    }

    let root: ZNodePath
    private(set) var nodes: [ZNodePath: Entry] = [:]
    /// How many nodes were read, re-reads included.
    private(set) var reads = 0
    /// How many passes after the first the notifications asked for.
    private(set) var passes = 0

    private enum Part { case data, acl, children }
    /// A node's three replies as they come in.
    private struct Partial {
        var data: [UInt8]??
        var stat: Stat?
        var acl: ACL?
        var aversion: Int32?
        var children: [String]?
        var childrenStat: Stat?
        var missing = false
        var arrived = 0
    }

    init(root: ZNodePath) { self.root = root }

    /// Reads the subtree; returns the zxid it is consistent at. `progress` is told the count of nodes read so far.
    mutating func read(_ zk: ZooKeeperConnection, progress: (Int) -> Void) async throws -> Zxid {
        let watch = zk.queue(.addWatch) { w in
            w.string(root.string)
            w.int(1)  // PERSISTENT_RECURSIVE
        }
        var changed: [ZNodePath] = []
        while true {
            switch try await zk.next() {
            case .notification(let type, let path): noteChange(type, path, into: &changed)
            case .reply(let xid, _, let error, _) where xid == watch:
                guard error == 0 else {
                    throw ZooKeeperConnection.Failure(
                        description:
                            "\(zk.address) refused a persistent recursive watch (error \(error)): a consistent dump needs ZooKeeper 3.6 or later"
                    )
                }
            default: continue
            }
            break
        }
        var queue = [root]
        while true {
            try await readAll(queue, zk, changed: &changed, progress: progress)
            if !changed.isEmpty {
                queue = Array(Set(changed))
                changed = []
                passes += 1
                continue
            }
            // The round trip that proves nothing changed since the last reads were answered.
            let marker = zk.queue(.exists) { w in
                w.string(root.string)
                w.bool(false)
            }
            var zxid: Zxid = 0
            while true {
                switch try await zk.next() {
                case .notification(let type, let path): noteChange(type, path, into: &changed)
                case .reply(let xid, let replyZxid, _, _) where xid == marker: zxid = replyZxid
                default: continue
                }
                if zxid != 0 { break }
            }
            if changed.isEmpty { return zxid }
        }
    }

    /// A notification: the node it names changed, and for a create or delete its parent too (children, stat).
    private func noteChange(_ type: Int32, _ path: String, into changed: inout [ZNodePath]) {
        guard let path = try? ZNodePath(path) else { return }
        changed.append(path)
        if type == 1 || type == 2, path != root, let parent = path.parent { changed.append(parent) }
    }

    /// Reads every path in `paths` and the children found below them that are not known yet, up to `window` nodes
    /// in flight.
    private mutating func readAll(
        _ paths: [ZNodePath], _ zk: ZooKeeperConnection, changed: inout [ZNodePath], progress: (Int) -> Void
    ) async throws {
        let window = 256
        var toRead = paths
        var requests: [Int32: (path: ZNodePath, part: Part)] = [:]
        var partials: [ZNodePath: Partial] = [:]
        while !toRead.isEmpty || !requests.isEmpty {
            while partials.count < window, let path = toRead.popLast() {
                partials[path] = Partial()
                requests[
                    zk.queue(.getData) {
                        $0.string(path.string)
                        $0.bool(false)
                    }] = (path, .data)
                requests[zk.queue(.getACL) { $0.string(path.string) }] = (path, .acl)
                requests[
                    zk.queue(.getChildren2) {
                        $0.string(path.string)
                        $0.bool(false)
                    }] = (path, .children)
            }
            let frame = try await zk.next()
            guard case .reply(let xid, _, let error, var body) = frame else {
                if case .notification(let type, let path) = frame { noteChange(type, path, into: &changed) }
                continue
            }
            guard let (path, part) = requests.removeValue(forKey: xid) else { continue }
            var partial = partials[path]!
            partial.arrived += 1
            if error == ZooKeeperError.noNode.rawValue {
                partial.missing = true
            } else if error == ZooKeeperError.noAuth.rawValue {
                throw ZooKeeperConnection.Failure(
                    description: "no permission to read \(path) on \(zk.address): --auth as its owner or the super user"
                )
            } else if error != 0 {
                throw ZooKeeperConnection.Failure(
                    description: "reading \(path) on \(zk.address) failed: error \(error)")
            } else {
                switch part {
                case .data:
                    partial.data = .some(try body.buffer())
                    partial.stat = try ZooKeeperRecords.readStat(&body)
                case .acl:
                    partial.acl = try ZooKeeperRecords.readACL(&body)
                    partial.aversion = try ZooKeeperRecords.readStat(&body).aversion
                case .children:
                    partial.children = try body.vector { (r) throws(JuteReader.Malformed) in try r.string() ?? "" }
                    partial.childrenStat = try ZooKeeperRecords.readStat(&body)
                }
            }
            guard partial.arrived == 3 else {
                partials[path] = partial
                continue
            }
            partials[path] = nil
            reads += 1
            if reads % 1000 == 0 { progress(reads) }
            try settle(path, partial, toRead: &toRead)
        }
    }

    /// Stores what was read of `path`: its entry replaced, its children not known yet queued, those gone removed.
    private mutating func settle(_ path: ZNodePath, _ partial: Partial, toRead: inout [ZNodePath]) throws {
        guard !partial.missing, let data = partial.data, var stat = partial.stat, let acl = partial.acl,
            let aversion = partial.aversion, let children = partial.children, let childrenStat = partial.childrenStat
        else {
            remove(path)
            return
        }
        stat.aversion = aversion
        stat.cversion = childrenStat.cversion
        stat.numChildren = childrenStat.numChildren
        stat.pzxid = childrenStat.pzxid
        let kind: NodeKind = stat.ephemeralOwner != nil ? .ephemeral : .persistent
        let known = nodes[path]?.children ?? []
        let names = children.sorted()
        for gone in Set(known).subtracting(names) { remove(path.appending(gone)) }
        for name in names where nodes[path.appending(name)] == nil { toRead.append(path.appending(name)) }
        nodes[path] = Entry(node: ZNode(path: path, data: data, stat: stat, kind: kind, acl: acl), children: names)
    }

    private mutating func remove(_ path: ZNodePath) {
        guard let entry = nodes.removeValue(forKey: path) else { return }
        for child in entry.children { remove(path.appending(child)) }
    }

    /// The nodes read, parents first, children in name order (the dump's order).
    func visit(_ body: (ZNode) throws -> Void) rethrows {
        var stack = [root]
        while let path = stack.popLast() {
            guard let entry = nodes[path] else { continue }
            try body(entry.node)
            stack.append(contentsOf: entry.children.reversed().map { path.appending($0) })
        }
    }
}
