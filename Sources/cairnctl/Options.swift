import ArgumentParser
import Cairn
import Foundation
import Logging
import NIOSSL

/// Where the server is, how to prove who we are to it, and how to print.
struct LiveOptions: ParsableArguments {
    @Option(help: "Server address HOST:PORT (default: $CAIRN_SERVER or 127.0.0.1:4181).")
    var server: String = environment("SERVER") ?? "127.0.0.1:4181"
    @Option(
        name: .customLong("auth"),
        help: "Digest credentials user:password sent after connecting (default: $CAIRN_AUTH).")
    var authOption: String?
    @Option(
        name: .customLong("tls-ca"),
        help: "Connect over TLS, trusting the CA certificates in this PEM file (default: $CAIRN_TLS_CA).")
    var tlsCaOption: String?
    @Option(
        name: .customLong("tls-cert"),
        help: "Client certificate (PEM) for servers that ask for one (default: $CAIRN_TLS_CERT).")
    var tlsCertOption: String?
    @Option(name: .customLong("tls-key"), help: "The client certificate's private key (PEM) (default: $CAIRN_TLS_KEY).")
    var tlsKeyOption: String?

    var auth: String? { authOption ?? environment("AUTH") }
    var tlsCa: String? { tlsCaOption ?? environment("TLS_CA") }
    var tlsCert: String? { tlsCertOption ?? environment("TLS_CERT") }
    var tlsKey: String? { tlsKeyOption ?? environment("TLS_KEY") }
    @Flag(help: "Machine-readable JSON output.") var json = false

    var configuration: CairnClient.Configuration {
        get throws {
            guard let address = CairnClient.Address(server) else {
                throw ValidationError("--server must be HOST:PORT or [IPv6]:PORT, e.g. 127.0.0.1:4181 or [::1]:4181")
            }
            var configuration = CairnClient.Configuration(addresses: [address])
            configuration.requestTimeout = .seconds(5)
            configuration.sessionTimeout = .seconds(30)
            if let auth { configuration.authentication = [.digest(auth)] }
            configuration.tls = try tls
            return configuration
        }
    }

    private var tls: TLSConfiguration? {
        get throws {
            guard tlsCa != nil || tlsCert != nil else { return nil }
            var tls = TLSConfiguration.makeClientConfiguration()
            if let tlsCa { tls.trustRoots = .file(tlsCa) }
            switch (tlsCert, tlsKey) {
            case (let cert?, let key?):
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            case (nil, nil): break
            default: throw ValidationError("--tls-cert and --tls-key go together")
            }
            return tls
        }
    }

    /// Runs `body` with a connected client; maps failures onto the exit codes. `session` false: a connection
    /// without a session, which works while the server cannot write (`stats`, `health`).
    func withClient<T: Sendable>(session: Bool = true, _ body: (CairnClient) async throws -> T) async throws -> T {
        var configuration = try configuration
        configuration.opensSession = session
        do {
            return try await CairnClient.withClient(configuration, logger: silentLogger) { client in
                try await body(client)
            }
        } catch let error as ClientError {
            switch error {
            case .server: fail("\(error)", code: .failed)
            default: fail("cannot reach the server at \(server): \(error)", code: .unreachable)
            }
        }
    }
}

/// `CAIRN_<name>` from the environment.
func environment(_ name: String) -> String? { ProcessInfo.processInfo.environment["CAIRN_" + name] }

/// Exit codes scripts can rely on (see `cairnctl --help`).
enum Exit: Int32 {
    case failed = 1
    case unreachable = 2
    case damaged = 3
}

/// Prints `message` to stderr and exits with `code`.
func fail(_ message: String, code: Exit) -> Never {
    FileHandle.standardError.write(Data(("cairnctl: " + message + "\n").utf8))
    exit(code.rawValue)
}

/// Prints one JSON object (keys sorted) as a line.
func printJSON(_ object: Any) {
    guard
        let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    else { return }
    emit(String(decoding: data, as: UTF8.self))
}

/// Writes a line to stdout at once (no buffering: `watch` output must show as it happens).
func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Dumps and snapshots hold every node: the files cairnctl writes are its user's only (0600).
var ownerOnly: [FileAttributeKey: Any] { [.posixPermissions: 0o600] }

/// The library logs nothing in a CLI: failures reach the user as messages and exit codes.
let silentLogger = Logger(label: "cairnctl") { _ in SwiftLogNoOpLogHandler() }

/// How a listing command prints (`-o`): text (the default, one item per line), json (one object per line, as
/// `--json`), or table (aligned columns under a header).
struct ListingOptions: ParsableArguments {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json, table
    }

    @Option(name: [.customShort("o"), .customLong("output")], help: "text, json or table (default: text).")
    var format: Format?

    /// `-o`, else `--json`'s json, else text.
    func format(_ live: LiveOptions) -> Format { format ?? (live.json ? .json : .text) }
}

/// Prints `rows` under `header`, each column as wide as its widest cell, the `numeric` ones right-aligned.
func printTable(_ header: [String], _ rows: [[String]], numeric: Set<Int> = []) {
    let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
    for row in [header] + rows {
        let cells = row.enumerated().map { column, cell in
            let fill = String(repeating: " ", count: widths[column] - cell.count)
            return numeric.contains(column) ? fill + cell : cell + fill
        }
        print(cells.joined(separator: "  ").trimmingCharacters(in: .whitespaces))
    }
}
