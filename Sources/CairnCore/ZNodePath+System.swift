extension ZNodePath {
    /// ZooKeeper's own nodes, in every tree, parents first: `/zookeeper`, `/zookeeper/config` (the ensemble's
    /// configuration: empty on a single server, readable by anyone, writable by nobody) and `/zookeeper/quota`.
    public static let systemNodes: [(path: ZNodePath, acl: ACL)] = [
        (ZNodePath.root.appending("zookeeper"), .open),
        (ZNodePath.root.appending("zookeeper").appending("config"), [ACLEntry(.read, .anyone)]),
        (ZNodePath.root.appending("zookeeper").appending("quota"), .open),
    ]

    /// One of `systemNodes` (their descendants are ordinary nodes): it cannot be deleted, and dumps and loads leave
    /// it out, as the other side has its own.
    public var isSystemNode: Bool {
        string.hasPrefix("/zookeeper") && Self.systemNodes.contains { $0.path == self }
    }
}
