import Foundation

/// A throwaway PKI made with Debian's `openssl`: certificate authorities, server certificates for 127.0.0.1 and
/// client certificates, as PEM files in a directory.
public struct TestCertificates: Sendable {
    public let directory: String

    public init(in directory: String) { self.directory = directory }

    /// Makes a CA named `name`: `<name>.pem` and `<name>.key`.
    @discardableResult
    public func authority(_ name: String) throws -> String {
        try openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-subj", "/O=Cairn Test/CN=\(name)", "-keyout", path(name, "key"), "-out", path(name, "pem"),
        ])
        return path(name, "pem")
    }

    /// A certificate and key signed by `authority`, for `subject` (`/O=…/CN=…`), valid for 127.0.0.1 and localhost:
    /// (`<name>.pem`, `<name>.key`).
    @discardableResult
    public func certificate(_ name: String, subject: String, signedBy authority: String) throws -> (
        certificate: String, key: String
    ) {
        try openssl([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", subject,
            "-keyout", path(name, "key"), "-out", path(name, "csr"),
        ])
        let extensions = path(name, "ext")
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(toFile: extensions, atomically: true, encoding: .utf8)
        try openssl([
            "x509", "-req", "-in", path(name, "csr"), "-CA", path(authority, "pem"), "-CAkey", path(authority, "key"),
            "-CAcreateserial", "-days", "2", "-extfile", extensions, "-out", path(name, "pem"),
        ])
        return (path(name, "pem"), path(name, "key"))
    }

    public func path(_ name: String, _ ext: String) -> String { "\(directory)/\(name).\(ext)" }

    private func openssl(_ arguments: [String]) throws {
        let child = try ChildProcess("/usr/bin/openssl", arguments)
        if child.wait() != 0 { throw Failure(description: "openssl \(arguments): \(child.errorOutput)") }
    }

    public struct Failure: Error, CustomStringConvertible { public var description: String }
}
