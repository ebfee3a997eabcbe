import Cairn
import CairnCore
import CairnTesting
import Foundation
import NIOSSL
import Testing

@Suite("TLS: verified servers, client certificates, x509 ACLs, reload on SIGHUP")
struct TLSTests {
    let directory = TemporaryDirectory("cairn-tls")
    let pki: TestCertificates

    init() throws {
        pki = TestCertificates(in: directory.path)
        try pki.authority("ca")
        try pki.authority("other-ca")
        try pki.certificate("server", subject: "/O=Cairn Test/CN=localhost", signedBy: "ca")
        try pki.certificate("client-1", subject: "/O=Cairn Test/CN=client-1", signedBy: "ca")
        try pki.certificate("client-2", subject: "/O=Cairn Test/CN=client-2", signedBy: "ca")
        try pki.certificate("stranger", subject: "/O=Elsewhere/CN=client-1", signedBy: "other-ca")
    }

    func server(_ extra: [String] = []) throws -> ServerProcess {
        try ServerProcess(
            dataDirectory: directory.appending("data-\(UUID().uuidString)"),
            arguments: ["--tls-cert", pki.path("server", "pem"), "--tls-key", pki.path("server", "key")] + extra)
    }

    /// A client trusting `ca`, presenting `certificate` (a name of `pki`) when given.
    func configuration(_ server: ServerProcess, trusting ca: String, as certificate: String? = nil) throws
        -> CairnClient.Configuration
    {
        var configuration = clientConfiguration(server)
        configuration.requestTimeout = .seconds(2)
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(pki.path(ca, "pem"))
        if let certificate {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(pki.path(certificate, "pem")).map {
                .certificate($0)
            }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: pki.path(certificate, "key"), format: .pem))
        }
        configuration.tls = tls
        return configuration
    }

    /// Whether a client with `configuration` gets a session and a reply (a failed handshake is retried until the
    /// request times out).
    func connects(_ configuration: CairnClient.Configuration) async -> Bool {
        do {
            return try await CairnClient.withClient(configuration) { client in try await client.exists("/") != nil }
        } catch {
            return false
        }
    }

    @Test("a client trusting the CA connects; one trusting another CA, or speaking plaintext, is refused cleanly")
    func serverVerified() async throws {
        let server = try server()
        #expect(await connects(try configuration(server, trusting: "ca")))
        #expect(!(await connects(try configuration(server, trusting: "other-ca"))))
        #expect(!(await connects(clientConfiguration(server))), "plaintext on a TLS port")
        let plaintext = try server.client()
        _ = try plaintext.send(["op": "connect"])
        #expect(throws: (any Error).self) { _ = try plaintext.reply() }
        #expect(server.log.contains { $0.contains("connection error") && $0.contains("warning") })
        #expect(await connects(try configuration(server, trusting: "ca")), "the server serves on")
    }

    @Test("with TLS the admin port is HTTPS with the same certificate; plain HTTP gets no page")
    func adminOverTLS() throws {
        let server = try server()
        defer { server.kill() }
        let port = try #require(server.adminPort)
        let https = AdminHTTP(port: port, tlsCA: pki.path("ca", "pem"))
        #expect(try https.get("/healthz").status == 200)
        #expect(try https.metrics()["cairn_sessions"] == 0)
        #expect((try? AdminHTTP(port: port).get("/healthz"))?.status != 200, "plain HTTP on the HTTPS port")
    }

    @Test("--tls-require-client-cert refuses a client without a certificate, or with one from another CA")
    func mutualTLS() async throws {
        let server = try server(["--tls-ca", pki.path("ca", "pem"), "--tls-require-client-cert"])
        #expect(!(await connects(try configuration(server, trusting: "ca"))))
        #expect(!(await connects(try configuration(server, trusting: "ca", as: "stranger"))))
        #expect(await connects(try configuration(server, trusting: "ca", as: "client-1")))
    }

    @Test("an x509 ACL admits exactly the certificate's subject")
    func x509ACL() async throws {
        let server = try server(["--tls-ca", pki.path("ca", "pem")])
        let subject = "CN=client-1,O=Cairn Test"
        try await CairnClient.withClient(try configuration(server, trusting: "ca", as: "client-1")) { client in
            #expect(try await client.whoAmI().contains(Principal(scheme: "x509", id: subject)))
            try await client.create(
                "/x509", data: Array("for client-1".utf8), acl: [ACLEntry(.all, Principal(scheme: "x509", id: subject))]
            )
            #expect(try await client.get("/x509").text == "for client-1")
        }
        for other in [nil, "client-2"] {
            try await CairnClient.withClient(try configuration(server, trusting: "ca", as: other)) { client in
                do {
                    _ = try await client.get("/x509")
                    Issue.record("\(other ?? "no certificate") read an x509-protected node")
                } catch let error as ClientError {
                    #expect(error.code == .noAuth)
                }
            }
        }
    }

    @Test("SIGHUP swaps the certificate for new connections and keeps open ones")
    func reloadOnSIGHUP() async throws {
        let live = TestCertificates(in: directory.appending("live"))
        try FileManager.default.createDirectory(atPath: live.directory, withIntermediateDirectories: true)
        /// Puts `name`'s certificate and key where the server reads them, as a deploy tool would.
        func install(_ name: String) throws {
            for ext in ["pem", "key"] {
                try Data(contentsOf: URL(fileURLWithPath: pki.path(name, ext)))
                    .write(to: URL(fileURLWithPath: live.path("server", ext)), options: .atomic)
            }
        }
        try install("server")
        let server = try ServerProcess(
            dataDirectory: directory.appending("data-reload"),
            arguments: ["--tls-cert", live.path("server", "pem"), "--tls-key", live.path("server", "key")])
        try await CairnClient.withClient(try configuration(server, trusting: "ca")) { open in
            try await open.create("/before")
            try pki.certificate("server-2", subject: "/O=Cairn Test/CN=localhost", signedBy: "other-ca")
            try install("server-2")
            server.signal(SIGHUP)
            var reloaded = false
            for _ in 0..<50 where !reloaded {
                try await Task.sleep(for: .milliseconds(100))
                reloaded = server.log.contains { $0.contains("TLS certificate reloaded") }
            }
            #expect(reloaded)
            #expect(await connects(try configuration(server, trusting: "other-ca")))
            #expect(!(await connects(try configuration(server, trusting: "ca"))))
            #expect(try await open.exists("/before") != nil, "the connection opened before the reload")
        }
    }
}
