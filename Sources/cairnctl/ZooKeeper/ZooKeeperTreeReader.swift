import CairnCore
import CairnProtocol

/// Reads a subtree of a running ZooKeeper (3.6 or later) so that it is consistent at one zxid, though ZooKeeper has
/// no point-in-time read of a tree.
///
/// A persistent recursive watch on the subtree's root comes first; then every node is read (data, ACL, children;
/// many in flight). ZooKeeper sends a notification before any reply it sends after the change, so a node's read
/// holds at a later reply's zxid exactly when no notification for it came between the two replies. The nodes that
/// were notified since their last read are then read together in one multiRead, which ZooKeeper answers at one zxid
/// with no change in between: that zxid is the cut. Nodes it shows that were not known yet are read after it; the
/// cut holds once no node's read is separated from it by a notification for the node, else the next round reads
/// those in the multiRead too. ZooKeeper sends no notification for an ACL change, so one made during the dump may
/// be missed (docs/operations.md).
struct ZooKeeperTreeReader {
    struct Entry {
        var node: ZNode
        var children: [String]
    }

    let root: ZNodePath
    private(set) var nodes: [ZNodePath: Entry] = [:]
    /// How many node reads there were, repeated ones included.
    private(set) var reads = 0
    /// Frames received so far: where a reply or notification stands in the server's order.
    private var position = 0
    /// Where the read each node's entry (or absence) comes from was answered.
    private var readAt: [ZNodePath: Int] = [:]
    /// Where the notifications naming a node came (for a create or delete, its parent's too).
    private var notifiedAt: [ZNodePath: [Int]] = [:]

    private static let maxRounds = 50
    /// Nodes one multiRead may read (ZooKeeper's 1 MB request limit leaves room for this many paths).
    private static let maxAtomicReads = 10_000

    init(root: ZNodePath) { self.root = root }

    /// Reads the subtree; returns the zxid it is consistent at. `progress` gets the count of node reads.
    mutating func read(_ zk: ZooKeeperConnection, progress: (Int) -> Void) async throws -> Zxid {
        let watch = zk.queue(.addWatch) { w in
            w.string(root.string)
            w.int(1)  // PERSISTENT_RECURSIVE
        }
        while true {
            guard case .reply(let xid, _, let error, _) = try await next(zk), xid == watch else { continue }
            guard error == 0 else {
                throw ZooKeeperConnection.Failure(
                    description:
                        "\(zk.address) refused a persistent recursive watch (error \(error)): a consistent dump needs ZooKeeper 3.6 or later"
                )
            }
            break
        }
        try await readAll([root], zk, progress: progress)
        var atomic = Set(notifiedPaths { read, at in read < at })
        for _ in 0..<Self.maxRounds {
            guard atomic.count <= Self.maxAtomicReads else { break }
            let (cut, zxid, unknown) = try await readAtomically(atomic.sorted(), zk)
            try await readAll(unknown, zk, progress: progress)
            let stale = notifiedPaths { read, at in min(read, cut) < at && at < max(read, cut) }
            if stale.isEmpty { return zxid }
            atomic.formUnion(stale)
        }
        throw ZooKeeperConnection.Failure(
            description:
                "the subtree changed too fast to dump consistently (\(atomic.count) nodes changing); try again, or dump a quieter subtree"
        )
    }

    /// The known nodes with a notification that `test(read position, notification position)` picks.
    private func notifiedPaths(_ test: (Int, Int) -> Bool) -> [ZNodePath] {
        notifiedAt.compactMap { path, positions in
            guard nodes[path] != nil, let read = readAt[path] else { return nil }
            return positions.contains { test(read, $0) } ? path : nil
        }
    }

    /// The next frame, its place counted; a notification is noted for its node (and a create's or delete's parent).
    private mutating func next(_ zk: ZooKeeperConnection) async throws -> ZooKeeperConnection.Frame {
        let frame = try await zk.next()
        position += 1
        if case .notification(let type, let raw) = frame, let path = try? ZNodePath(raw) {
            notifiedAt[path, default: []].append(position)
            if type == 1 || type == 2, path != root, let parent = path.parent {
                notifiedAt[parent, default: []].append(position)
            }
        }
        return frame
    }

    private enum Part { case data, acl, children }

    /// A node's replies as they come in.
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

    /// Reads every path in `paths`, and below them every child not known yet, up to `window` nodes in flight.
    private mutating func readAll(_ paths: [ZNodePath], _ zk: ZooKeeperConnection, progress: (Int) -> Void)
        async throws
    {
        let window = 256
        var toRead = paths
        // A path may be read twice at once (listed by its parent and asked for): its reads get a number each.
        var requests: [Int32: (read: Int, part: Part)] = [:]
        var partials: [Int: (path: ZNodePath, partial: Partial)] = [:]
        var nextRead = 0
        while !toRead.isEmpty || !requests.isEmpty {
            while partials.count < window, let path = toRead.popLast() {
                partials[nextRead] = (path, Partial())
                let unwatched: (inout JuteWriter) -> Void = { w in
                    w.string(path.string)
                    w.bool(false)
                }
                requests[zk.queue(.getData, unwatched)] = (nextRead, .data)
                requests[zk.queue(.getACL) { $0.string(path.string) }] = (nextRead, .acl)
                requests[zk.queue(.getChildren2, unwatched)] = (nextRead, .children)
                nextRead += 1
            }
            guard case .reply(let xid, _, let error, var body) = try await next(zk),
                let (read, part) = requests.removeValue(forKey: xid), case (let path, var partial)? = partials[read]
            else { continue }
            partial.arrived += 1
            if try Self.succeeded(error, path, zk) {
                switch part {
                case .data:
                    partial.data = .some(try body.buffer())
                    partial.stat = try ZooKeeperRecords.readStat(&body)
                case .acl:
                    partial.acl = try ZooKeeperRecords.readACL(&body)
                    partial.aversion = try ZooKeeperRecords.readStat(&body).aversion
                case .children:
                    partial.children = try Self.names(&body)
                    partial.childrenStat = try ZooKeeperRecords.readStat(&body)
                }
            } else {
                partial.missing = true
            }
            guard partial.arrived == 3 else {
                partials[read] = (path, partial)
                continue
            }
            partials[read] = nil
            reads += 1
            if reads % 1000 == 0 { progress(reads) }
            guard !partial.missing, let data = partial.data, var stat = partial.stat, let acl = partial.acl,
                let aversion = partial.aversion, let children = partial.children,
                let childrenStat = partial.childrenStat
            else {
                settle(path, absent: true, at: position)
                continue
            }
            stat.aversion = aversion
            stat.cversion = childrenStat.cversion
            stat.numChildren = childrenStat.numChildren
            stat.pzxid = childrenStat.pzxid
            toRead += settle(path, data: data, stat: stat, acl: acl, children: children, at: position)
        }
    }

    /// Reads `paths`' data and children in one multiRead: all as they are at its reply's zxid. Returns the reply's
    /// place, the zxid, and the children it lists that are not known.
    private mutating func readAtomically(_ paths: [ZNodePath], _ zk: ZooKeeperConnection) async throws -> (
        cut: Int, zxid: Zxid, unknown: [ZNodePath]
    ) {
        let xid = zk.queue(.multiRead) { w in
            for path in paths {
                for type in [ZooKeeperOpCode.getData, .getChildren] {
                    ZooKeeperRecords.writeMultiHeader(type.rawValue, done: false, into: &w)
                    w.string(path.string)
                    w.bool(false)
                }
            }
            ZooKeeperRecords.writeMultiHeader(-1, done: true, into: &w)
        }
        while true {
            guard case .reply(let replyXid, let zxid, let error, var body) = try await next(zk), replyXid == xid else {
                continue
            }
            guard error == 0 else {
                throw ZooKeeperConnection.Failure(description: "\(zk.address) refused a multiRead (error \(error))")
            }
            var unknown: [ZNodePath] = []
            for path in paths {
                var data: [UInt8]??
                var stat: Stat?
                var children: [String]?
                for _ in 0..<2 {
                    let type = try body.int()
                    _ = try body.bool()
                    let code = try body.int()
                    if type == -1 {
                        _ = try body.int()
                        _ = try Self.succeeded(code, path, zk)
                    } else if type == ZooKeeperOpCode.getData.rawValue {
                        data = .some(try body.buffer())
                        stat = try ZooKeeperRecords.readStat(&body)
                    } else {
                        children = try Self.names(&body)
                    }
                }
                reads += 1
                if let data, let stat, let children, let acl = nodes[path]?.node.acl {
                    unknown += settle(path, data: data, stat: stat, acl: acl, children: children, at: position)
                } else if data == nil || children == nil {
                    settle(path, absent: true, at: position)
                } else {
                    // A node not known before (none has no ACL yet): read after the cut, whole.
                    unknown.append(path)
                }
            }
            return (position, zxid, unknown)
        }
    }

    /// Whether a read succeeded (false: the node is not there); throws for any other answer.
    private static func succeeded(_ error: Int32, _ path: ZNodePath, _ zk: ZooKeeperConnection) throws -> Bool {
        switch error {
        case 0: return true
        case ZooKeeperError.noNode.rawValue: return false
        case ZooKeeperError.noAuth.rawValue:
            throw ZooKeeperConnection.Failure(
                description: "no permission to read \(path) on \(zk.address): --auth as its owner or the super user")
        default:
            throw ZooKeeperConnection.Failure(description: "reading \(path) on \(zk.address) failed: error \(error)")
        }
    }

    private static func names(_ r: inout JuteReader) throws -> [String] {
        try r.vector { (r) throws(JuteReader.Malformed) in try r.string() ?? "" } ?? []
    }

    /// Stores a read of `path`, answered at `position`: its entry replaced, the children that are gone removed;
    /// returns the children not known yet.
    private mutating func settle(
        _ path: ZNodePath, data: [UInt8]?, stat: Stat, acl: ACL, children: [String], at position: Int
    ) -> [ZNodePath] {
        let names = children.sorted()
        for gone in Set(nodes[path]?.children ?? []).subtracting(names) {
            settle(path.appending(gone), absent: true, at: position)
        }
        let kind: NodeKind = stat.ephemeralOwner != nil ? .ephemeral : .persistent
        nodes[path] = Entry(node: ZNode(path: path, data: data, stat: stat, kind: kind, acl: acl), children: names)
        readAt[path] = position
        return names.map { path.appending($0) }.filter { nodes[$0] == nil }
    }

    /// `path` and all below it are not there, as read at `position`.
    private mutating func settle(_ path: ZNodePath, absent: Bool, at position: Int) {
        readAt[path] = position
        guard let entry = nodes.removeValue(forKey: path) else { return }
        for child in entry.children { settle(path.appending(child), absent: true, at: position) }
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
