/// How long a znode lives.
public enum NodeKind: Hashable, Sendable {
    /// Lives until deleted.
    case persistent
    /// Deleted when its owning session ends; cannot have children.
    case ephemeral
    /// Deleted by the server once it has had children and has none left.
    case container
    /// Deleted by the server when it has no children and was not modified for `ttlMilliseconds`.
    case persistentWithTTL(ttlMilliseconds: Int64)
}

extension NodeKind {
    /// The longest TTL a create may ask for: ZooKeeper's (its TTL field is 40 bits, about 34.8 years).
    public static let maxTTLMilliseconds: Int64 = 0xFF_FFFF_FFFF
}
