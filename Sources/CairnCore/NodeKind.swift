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
