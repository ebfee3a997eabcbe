/// A znode as read from the store.
public struct ZNode: Hashable, Sendable {
    public var path: ZNodePath
    /// nil: null data (see `Operation`).
    public var data: [UInt8]?
    public var stat: Stat
    public var kind: NodeKind
    public var acl: ACL

    public init(path: ZNodePath, data: [UInt8]?, stat: Stat, kind: NodeKind, acl: ACL = .open) {
        self.path = path
        self.data = data
        self.stat = stat
        self.kind = kind
        self.acl = acl
    }
}
