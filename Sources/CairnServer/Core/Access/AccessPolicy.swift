import CairnCore
import CairnProtocol

/// How callers prove who they are and what the server grants them: ZooKeeper's `digest` scheme (any
/// `user:password` is accepted, as in ZooKeeper, and proves its `DigestID`: a wrong password proves an id no ACL
/// names), the configured super user and operator, and the checking of ACLs given in creates and set_acl.
public struct AccessPolicy: Sendable {
    /// The super user's digest id (`user:base64(sha1("user:password"))`): it passes every check.
    public var superDigest: String?
    /// An operator's digest id: it may run the server-level operations (dump, snapshots, stats) but passes no ACL.
    public var operatorDigest: String?

    public init(superDigest: String? = nil, operatorDigest: String? = nil) {
        self.superDigest = superDigest
        self.operatorDigest = operatorDigest
    }

    /// Whether server-level operations are restricted: once any credential is configured, only the super user and
    /// operators may run them.
    public var restrictsOperations: Bool { superDigest != nil || operatorDigest != nil }

    /// What an `auth` proves, added to `identity`; throws `authFailed` for an unknown scheme or malformed credentials.
    func authenticate(scheme: String, credentials: String, into identity: inout Identity) throws(CairnError) {
        guard scheme == "digest" else { throw .authFailed("unknown scheme \(scheme.debugDescription)") }
        let id = try DigestID.of(credentials)
        let principal = Principal(scheme: "digest", id: id)
        if !identity.principals.contains(principal) { identity.principals.append(principal) }
        if let superDigest, Self.constantTimeEqual(id, superDigest) {
            identity.isSuper = true
            identity.isOperator = true
        }
        if let operatorDigest, Self.constantTimeEqual(id, operatorDigest) { identity.isOperator = true }
    }

    /// Whether `identity` may run a server-level operation.
    func mayOperate(_ identity: Identity) -> Bool { !restrictsOperations || identity.isOperator || identity.isSuper }

    /// An ACL as given in a create or set_acl, checked and expanded as ZooKeeper's `fixupACL` does: `auth` entries
    /// become one entry per principal the caller authenticated (`digest`, `x509`; `invalid_acl` when it has none),
    /// `world` must be `anyone`, `digest` ids are `user:hash`, `ip` ids an address or range; other schemes are
    /// refused. Duplicates go; an empty list is `invalid_acl`.
    func fixup(_ acl: ACL, for identity: Identity) throws(CairnError) -> ACL {
        if acl.isOpen { return .open }
        guard !acl.isEmpty else { throw .invalidACL("an ACL needs at least one entry") }
        var fixed: [ACLEntry] = []
        func add(_ entry: ACLEntry) { if !fixed.contains(entry) { fixed.append(entry) } }
        for entry in acl {
            let principal = entry.principal
            switch principal.scheme {
            case "world":
                guard principal.id == "anyone" else { throw .invalidACL("world's only id is anyone") }
                add(entry)
            case "auth":
                let proven = identity.principals.filter { Self.authenticatedSchemes.contains($0.scheme) }
                guard !proven.isEmpty else {
                    throw .invalidACL("the auth scheme needs an authenticated connection (digest or x509)")
                }
                for principal in proven { add(ACLEntry(entry.permissions, principal)) }
            case "digest":
                guard principal.id.split(separator: ":", omittingEmptySubsequences: false).count == 2 else {
                    throw .invalidACL("a digest id is user:base64(sha1(user:password))")
                }
                add(entry)
            case "ip":
                guard IPRange(principal.id) != nil else {
                    throw .invalidACL("\(principal.id) is not an address or CIDR range")
                }
                add(entry)
            case "x509":
                guard !principal.id.isEmpty else { throw .invalidACL("an x509 id is a certificate subject") }
                add(entry)
            default: throw .invalidACL("unknown scheme \(principal.scheme.debugDescription)")
            }
        }
        return ACL(fixed)
    }

    /// The schemes whose principals `auth` entries expand to (ZooKeeper's `isAuthenticated` providers; `ip` is not).
    private static let authenticatedSchemes: Set<String> = ["digest", "x509"]

    /// Compares digests without an early exit, so the time taken does not tell how much of one matched.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<min(x.count, y.count) { difference |= x[i] ^ y[i] }
        return difference == 0
    }
}
