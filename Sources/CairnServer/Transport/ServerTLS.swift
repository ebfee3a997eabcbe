import CairnCore
import Logging
import NIOCore
import NIOSSL
import Synchronization
import X509

/// TLS for the listeners: the certificate, key and client CA read from files, swapped on `reload()` (SIGHUP) for the
/// connections that come after, while open ones keep theirs.
public final class ServerTLS: Sendable {
    /// Where the PEM files are, and whether a client must present a certificate signed by `clientCA`.
    public struct Files: Sendable, Hashable {
        public var certificate: String
        public var privateKey: String
        /// Client certificates signed by it are verified and give `x509` ids; nil asks for none.
        public var clientCA: String?
        public var requiresClientCertificate: Bool

        public init(certificate: String, privateKey: String, clientCA: String?, requiresClientCertificate: Bool) {
            self.certificate = certificate
            self.privateKey = privateKey
            self.clientCA = clientCA
            self.requiresClientCertificate = requiresClientCertificate
        }
    }

    public let files: Files
    private let context: Mutex<NIOSSLContext>

    /// Reads the files; throws when one is missing or not what it should be (the server must not start).
    public init(_ files: Files) throws {
        self.files = files
        context = Mutex(try Self.context(files))
    }

    /// A handler for a new connection, with the context read last.
    func handler() -> NIOSSLServerHandler { NIOSSLServerHandler(context: context.withLock { $0 }) }

    /// Reads the files again; on failure the current ones stay and the error is logged.
    public func reload(logger: Logger) {
        do {
            let fresh = try Self.context(files)
            context.withLock { $0 = fresh }
            logger.info("TLS certificate reloaded", metadata: ["tls.certificate": "\(files.certificate)"])
        } catch {
            logger.error(
                "TLS reload failed; the previous certificate stays",
                metadata: ["tls.certificate": "\(files.certificate)", "error": "\(error)"])
        }
    }

    /// The `x509` principal of a connection whose client presented a verified certificate: its subject, as
    /// ZooKeeper's X509AuthenticationProvider names it (RFC 4514, most specific first: `CN=svc,O=Example`).
    static func principal(of channel: any Channel) -> Principal? {
        guard let certificate = try? channel.pipeline.syncOperations.nioSSL_peerCertificate(),
            let der = try? certificate.toDERBytes(), let parsed = try? Certificate(derEncoded: der)
        else { return nil }
        return Principal(scheme: "x509", id: parsed.subject.description)
    }

    private static func context(_ files: Files) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(files.certificate).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: files.privateKey, format: .pem)))
        if let ca = files.clientCA {
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
            configuration.certificateVerification =
                files.requiresClientCertificate ? .noHostnameVerification : .optionalVerification
        }
        return try NIOSSLContext(configuration: configuration)
    }
}
