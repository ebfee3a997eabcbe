/// ZooKeeper's permission bits, as its clients send them.
public struct Permissions: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let read = Permissions(rawValue: 1)
    public static let write = Permissions(rawValue: 2)
    public static let create = Permissions(rawValue: 4)
    public static let delete = Permissions(rawValue: 8)
    public static let admin = Permissions(rawValue: 16)
    public static let all: Permissions = [.read, .write, .create, .delete, .admin]
}

/// Who an ACL entry or an authenticated caller is: ZooKeeper's (scheme, id) pair, such as `world:anyone`,
/// `digest:bob:<base64 sha1>`, `ip:10.0.0.0/8` or `x509:CN=svc`.
public struct Principal: Hashable, Sendable, CustomStringConvertible {
    public var scheme: String
    public var id: String

    public init(scheme: String, id: String) {
        self.scheme = scheme
        self.id = id
    }

    public static let anyone = Principal(scheme: "world", id: "anyone")

    public var description: String { "\(scheme):\(id)" }
}

/// One entry of a node's ACL: what `principal` may do.
public struct ACLEntry: Hashable, Sendable {
    public var permissions: Permissions
    public var principal: Principal

    public init(_ permissions: Permissions, _ principal: Principal) {
        self.permissions = permissions
        self.principal = principal
    }
}

/// A node's access control list (ZooKeeper's model). A request passes when some entry grants the permission
/// it needs to `world:anyone` or to one of the caller's principals.
public typealias ACL = [ACLEntry]

extension [ACLEntry] {
    /// `world:anyone` with every permission: what a create without an ACL gets, and what every node of a data
    /// directory from before ACLs has.
    public static let open: ACL = [ACLEntry(.all, .anyone)]

    /// Whether this is exactly `open` (stored as no ACL at all).
    public var isOpen: Bool { count == 1 && self[0].permissions == .all && self[0].principal == .anyone }
}
