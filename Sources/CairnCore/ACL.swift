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

/// A node's access control list (ZooKeeper's model): a request passes when some entry grants the permission it needs
/// to `world:anyone` or to one of the caller's principals.
///
/// The open ACL (`world:anyone` with every permission, what nearly every node has) is stored as nothing: copying it
/// touches no shared buffer, so nodes, changes and requests carry it for free.
public struct ACL: Hashable, Sendable, RandomAccessCollection, ExpressibleByArrayLiteral {
    /// nil: the open ACL.
    private var stored: [ACLEntry]?

    /// The entries as given; exactly the open ACL's one entry is the open ACL.
    public init(_ entries: [ACLEntry]) {
        let isOpen = entries.count == 1 && entries[0] == Self.openEntry
        stored = isOpen ? nil : entries
    }

    public init(arrayLiteral elements: ACLEntry...) { self.init(elements) }

    private init(stored: [ACLEntry]?) { self.stored = stored }

    /// `world:anyone` with every permission: what a create without an ACL gets, and what every node of a data
    /// directory from before ACLs has.
    public static var open: ACL { ACL(stored: nil) }

    public var isOpen: Bool { stored == nil }

    private static let openEntry = ACLEntry(.all, .anyone)

    public var startIndex: Int { 0 }
    public var endIndex: Int { stored?.count ?? 1 }
    public subscript(position: Int) -> ACLEntry { stored?[position] ?? Self.openEntry }
}
