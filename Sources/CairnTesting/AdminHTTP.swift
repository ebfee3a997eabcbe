import Foundation

/// A server's admin HTTP port, read with a real HTTP client (curl).
public struct AdminHTTP: Sendable {
    public let port: Int
    /// HTTPS, trusting this CA's PEM (the server's certificate must name `localhost`); nil: plain HTTP.
    public let tlsCA: String?

    public init(port: Int, tlsCA: String? = nil) {
        self.port = port
        self.tlsCA = tlsCA
    }

    public struct Response: Sendable {
        public var status: Int
        public var body: String
    }

    /// GETs `path`, with HTTP Basic `user:password` when given.
    public func get(_ path: String, credentials: String? = nil) throws -> Response {
        let basic = credentials.map { ["--user", $0] } ?? []
        let url =
            tlsCA.map {
                ["--cacert", $0, "--resolve", "localhost:\(port):127.0.0.1", "https://localhost:\(port)\(path)"]
            }
            ?? ["http://127.0.0.1:\(port)\(path)"]
        let curl = try ChildProcess(
            "/usr/bin/env", ["curl", "--silent", "--max-time", "10", "--write-out", "\n%{http_code}"] + basic + url)
        let status = curl.wait()
        guard status == 0, let code = curl.output.last.flatMap({ Int($0) }) else {
            throw AdminHTTPError.failed("curl \(path) exited \(status): \(curl.errorOutput)")
        }
        return Response(status: code, body: curl.output.dropLast().joined(separator: "\n"))
    }

    /// The samples of `/metrics`, by series (`name{label="value",…}`), parsed from Prometheus' text format.
    public func metrics(credentials: String? = nil) throws -> [String: Double] {
        let response = try get("/metrics", credentials: credentials)
        guard response.status == 200 else {
            throw AdminHTTPError.failed("/metrics: \(response.status) \(response.body)")
        }
        var samples: [String: Double] = [:]
        for line in response.body.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                continue
            }
            samples[String(line[..<space])] = value
        }
        return samples
    }

    public enum AdminHTTPError: Error { case failed(String) }
}
