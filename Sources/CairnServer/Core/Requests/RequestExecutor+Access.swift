import CairnCore
import CairnProtocol
import CairnStore

/// auth, the ACLs a change carries, and the server-level operations' gate.
extension RequestExecutor {
    /// Adds what `credentials` prove to the connection's identity. A failure is logged (scheme and peer, never the
    /// credentials) and answered `auth_failed`; the connection stays as it was.
    func authenticate(_ scheme: String, _ credentials: String, on connection: ConnectionScope) throws -> Reply {
        do throws(CairnError) {
            try connection.identity.update { (identity) throws(CairnError) in
                try access.authenticate(scheme: scheme, credentials: credentials, into: &identity)
            }
            return .done
        } catch {
            let peer = connections.handle(connection.id)?.channel.remoteAddress.map { "\($0)" } ?? "?"
            logger.warning(
                "auth failed",
                metadata: ["auth.scheme": "\(scheme)", "connection.peer": "\(peer)", "error": "\(error)"])
            throw error
        }
    }

    /// The operation with its ACL checked and `auth` entries expanded (create, set_acl); others as they are.
    func fixup(_ operation: Operation, for identity: Identity) throws(CairnError) -> Operation {
        switch operation {
        case .create(let path, let data, let kind, let sequential, let acl) where !acl.isOpen:
            return .create(
                path: path, data: data, kind: kind, sequential: sequential, acl: try access.fixup(acl, for: identity))
        case .setACL(let path, let acl, let version):
            return .setACL(path: path, acl: try access.fixup(acl, for: identity), version: version)
        default: return operation
        }
    }

    /// Throws `noAuth` unless `identity` may run the server-level operation `op`.
    func mayOperate(_ op: String, _ identity: Identity) throws(CairnError) {
        guard access.mayOperate(identity) else {
            throw .noAuth("\(op) needs the super user or an operator (--super-digest, --admin-digest)")
        }
    }
}
