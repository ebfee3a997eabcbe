#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Who is asking: the principals a connection has proved (its `ip`, `digest` ids from `auth`, the `x509` subject of
/// its TLS certificate), and whether it is the super user (who passes every check) or an operator (who may run the
/// server-level operations: dump, snapshots, detailed stats).
public struct Identity: Hashable, Sendable {
    public var principals: [Principal]
    public var isSuper: Bool
    public var isOperator: Bool

    public init(principals: [Principal] = [], isSuper: Bool = false, isOperator: Bool = false) {
        self.principals = principals
        self.isSuper = isSuper
        self.isOperator = isOperator
    }

    /// The server's own changes (expiry, reaping) and offline tools: every check passes.
    public static let server = Identity(isSuper: true, isOperator: true)

    /// Whether `acl` grants any of `wanted` to this caller, as ZooKeeper's `checkACL` decides: the super user
    /// always; else an entry holding one of the bits, for `world:anyone` or a principal of the caller (`ip` ids
    /// by address range, every other scheme by exact id).
    public func permits(_ wanted: Permissions, in acl: ACL) -> Bool {
        if isSuper || acl.isOpen { return !wanted.isEmpty }
        for entry in acl where !entry.permissions.intersection(wanted).isEmpty {
            if entry.principal == .anyone { return true }
            for principal in principals where principal.scheme == entry.principal.scheme {
                if principal.scheme == "ip" {
                    if IPRange(entry.principal.id)?.contains(principal.id) == true { return true }
                } else if principal.id == entry.principal.id {
                    return true
                }
            }
        }
        return false
    }

    /// Throws `noAuth` unless `acl`, the ACL of the node at `path`, grants this caller one of `needed`.
    public func check(_ needed: Permissions, in acl: ACL, at path: ZNodePath) throws(CairnError) {
        guard permits(needed, in: acl) else { throw .noAuth("\(needed.names) permission on \(path) is needed") }
    }
}

extension Permissions {
    /// ZooKeeper's names of the bits, "READ or ADMIN".
    var names: String {
        let named: [(Permissions, String)] = [
            (.read, "READ"), (.write, "WRITE"), (.create, "CREATE"), (.delete, "DELETE"), (.admin, "ADMIN"),
        ]
        return named.filter { contains($0.0) }.map(\.1).joined(separator: " or ")
    }
}

/// An `ip` ACL id: an IPv4 or IPv6 address, optionally with a prefix length (`10.0.0.0/8`, `fd00::/8`).
public struct IPRange: Sendable {
    private let address: [UInt8]
    private let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = Self.parse(String(parts[0])) else { return nil }
        let bits = address.count * 8
        if parts.count == 2 {
            guard let length = Int(parts[1]), (0...bits).contains(length) else { return nil }
            prefixLength = length
        } else {
            prefixLength = bits
        }
        self.address = address
    }

    /// Whether `text`, an address, is in the range (an address of the other family never is).
    public func contains(_ text: String) -> Bool {
        guard let other = Self.parse(text), other.count == address.count else { return false }
        var remaining = prefixLength
        for (a, b) in zip(address, other) where remaining > 0 {
            let mask: UInt8 = remaining >= 8 ? 0xFF : ~(0xFF >> UInt8(remaining))
            if a & mask != b & mask { return false }
            remaining -= 8
        }
        return true
    }

    /// The address's bytes: 4 for IPv4, 16 for IPv6; nil when it is neither.
    private static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}
