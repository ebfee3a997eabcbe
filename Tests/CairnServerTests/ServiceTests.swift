import CairnTesting
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What running the server as a service needs: systemd's readiness notification (through `NOTIFY_SOCKET`, as
/// systemd sets it for `Type=notify`), logs a shipper can parse, and slow requests in them.
@Suite("Running as a service: systemd readiness, JSON logs, slow requests")
struct ServiceTests {
    let directory = TemporaryDirectory("cairn-service")

    @Test("READY=1 reaches NOTIFY_SOCKET once the server accepts clients; STOPPING=1 once it has drained")
    func systemdNotify() throws {
        let socketPath = directory.appending("notify")
        let socket = try NotifySocket(path: socketPath)
        let server = try ChildProcess(
            "/usr/bin/env",
            [
                "NOTIFY_SOCKET=\(socketPath)", BuiltProducts.path(of: "cairn"), "serve", "--data-dir",
                directory.appending("data"), "--listen", "127.0.0.1:0", "--zk-listen", "none", "--admin-listen", "none",
            ])
        defer { server.kill() }
        #expect(socket.receive(seconds: 60) == "READY=1")
        // READY=1 comes once the port is bound; the line saying so follows.
        #expect(server.waitForOutput(seconds: 10) { $0.contains { $0.contains("cairn listening") } })
        let listening = try #require(server.output.first { $0.contains("cairn listening") })
        let port = try #require(listening.split(separator: ":").last.flatMap { Int($0.prefix { $0.isNumber }) })
        #expect(try LineClient(port: port).call(["op": "ping"]).ok, "serving when READY=1 came")
        server.kill(signal: SIGTERM)
        #expect(socket.receive(seconds: 30) == "STOPPING=1")
        #expect(server.wait() == 0)
    }

    @Test("--log-format json writes one object per line with timestamp, level, label, source, message, metadata")
    func jsonLogs() throws {
        let server = try ChildProcess(
            BuiltProducts.path(of: "cairn"),
            [
                "serve", "--data-dir", directory.appending("data"), "--listen", "127.0.0.1:0", "--zk-listen", "none",
                "--admin-listen", "none", "--log-format", "json", "--slow-request-ms", "1",
            ])
        defer { server.kill() }
        #expect(server.waitForOutput(seconds: 60) { $0.contains { $0.contains("cairn listening") } })
        let objects = try server.output.map {
            try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "not JSON: \($0)")
        }
        for object in objects {
            #expect(Set(object.keys) == ["timestamp", "level", "label", "source", "message", "metadata"], "\(object)")
            let timestamp = try #require(object["timestamp"] as? String)
            #expect(
                (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(timestamp)) != nil, "\(timestamp)"
            )
        }
        let listening = try #require(objects.first { $0["message"] as? String == "cairn listening" })
        let address = try #require((listening["metadata"] as? [String: Any])?["address"] as? String)
        #expect(listening["level"] as? String == "info" && listening["source"] as? String == "CairnServer")

        // A multi of 1000 creates takes more than 1 ms: it is logged as slow, with its op, path and session.
        let c = try LineClient(port: try #require(Int(address.split(separator: ":").last ?? "")))
        let session = try c.connect().id
        let ops: [[String: Any]] = (0..<1000).map { ["op": "create", "path": "/m\($0)"] }
        #expect(try c.call(["op": "multi", "ops": ops]).ok)
        #expect(
            server.waitForOutput(seconds: 10) {
                $0.contains { $0.contains(#""message":"slow request""#) && $0.contains(#""op":"multi""#) }
            })
        let slow = try #require(
            server.output.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                .first {
                    $0["message"] as? String == "slow request"
                        && ($0["metadata"] as? [String: Any])?["op"] as? String == "multi"
                })
        let metadata = try #require(slow["metadata"] as? [String: String])
        #expect(slow["level"] as? String == "warning")
        #expect(metadata["path"] == "/m0 (+999 ops)" && metadata["session"] == session, "\(metadata)")
        #expect(Int(metadata["duration.ms"] ?? "") ?? 0 >= 1)
    }
}

/// A Unix datagram socket standing in for systemd's notification socket.
private final class NotifySocket {
    private let fd: Int32

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard fd >= 0, bound == 0 else { throw POSIXError(.EADDRNOTAVAIL) }
    }

    deinit { close(fd) }

    /// The next datagram, or nil after `seconds`.
    func receive(seconds: Int) -> String? {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(seconds * 1000)) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(fd, &buffer, buffer.count, 0)
        return count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : nil
    }
}
