/// A `HOST:PORT` address as people write them: `127.0.0.1:4181`, `localhost:4181`, or an IPv6 host in brackets,
/// `[::1]:4181` (as in URLs, RFC 3986). The one parser of the server's listen flags, cairnctl's `--server` and the
/// client's addresses.
public struct HostPort: Hashable, Sendable, CustomStringConvertible {
    /// Without brackets (`::1`).
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// nil for anything else: no port, a port outside 0…65535, an empty host, or an IPv6 host without brackets
    /// (`::1:4181` could end its address or name the port).
    public init?(_ text: String) {
        let host: Substring
        let port: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[close...].hasPrefix("]:") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.firstIndex(of: ":"), text.lastIndex(of: ":") == colon else { return nil }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let number = Int(port), (0...65535).contains(number) else { return nil }
        self.init(host: String(host), port: number)
    }

    /// As `init?(_:)` reads it: brackets around a host with colons.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
