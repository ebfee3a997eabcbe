import CairnCore

extension TreeTransaction {
    /// Makes those of `ZNodePath.systemNodes` that are missing, by no change (zxid 0; see `DataFormat`), each only
    /// below a persistent parent (a tree from before them may hold a `/zookeeper` of its own).
    func createSystemNodes() throws {
        for (path, acl) in ZNodePath.systemNodes where try lookup(path) == nil {
            guard let parent = try lookupParent(of: path), parent.record.kind == .persistent else { continue }
            _ = try create(
                path, under: parent, data: [], kind: .persistent, owner: nil, acl: acl, zxid: 0, time: 0, system: true)
            // ZooKeeper sets a restricted ACL (config's) after making the node, with version -1: its aversion reads -1.
            if !acl.isOpen, let node = try lookup(path) {
                var record = node.record
                record.stat.aversion = -1
                try put(node.id, record)
            }
        }
    }
}
