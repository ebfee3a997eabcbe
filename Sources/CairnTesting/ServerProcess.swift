import Foundation

/// The real `cairn` binary serving a temp data directory on a free loopback port.
public final class ServerProcess: Sendable {
    public let dataDirectory: String
    public let extraArguments: [String]
    public let port: Int
    /// The ZooKeeper protocol's port, when the server was started with `--zk-listen`.
    public let zooKeeperPort: Int?
    /// The admin HTTP port (`--admin-listen`; a free one unless `arguments` say otherwise), nil when it is off.
    public let adminPort: Int?
    private let process: ChildProcess

    /// Starts `cairn serve --listen 127.0.0.1:0` (or `port`) and waits for its listening line. The ZooKeeper port is
    /// off unless `arguments` has a `--zk-listen` (its default, 2181, would collide between servers); the admin port
    /// is a free one unless `arguments` has an `--admin-listen`.
    public init(dataDirectory: String, port: Int = 0, arguments: [String] = []) throws {
        self.dataDirectory = dataDirectory
        self.extraArguments = arguments
        let zooKeeperOff = arguments.contains("--zk-listen") ? [] : ["--zk-listen", "none"]
        let adminAnywhere = arguments.contains("--admin-listen") ? [] : ["--admin-listen", "127.0.0.1:0"]
        let process = try ChildProcess(
            BuiltProducts.path(of: "cairn"),
            ["serve", "--data-dir", dataDirectory, "--listen", "127.0.0.1:\(port)", "--log-level", "info"]
                + zooKeeperOff + adminAnywhere
                + arguments)
        var found: Int?
        var zooKeeper: Int?
        var admin: Int?
        _ = process.waitForOutput(seconds: 60) { lines in
            for line in lines {
                if line.contains("zookeeper protocol listening") {
                    zooKeeper = Self.port(in: line, after: "zk.address")
                }
                if line.contains("admin listening") { admin = Self.port(in: line, after: "admin.address") }
                if line.contains("cairn listening") { found = Self.port(in: line, after: "address") }
            }
            return found != nil
        }
        guard let found else {
            process.kill()
            throw ServerError.didNotStart(process.output.joined(separator: "\n") + process.errorOutput)
        }
        self.port = found
        zooKeeperPort = zooKeeper
        adminPort = admin
        self.process = process
    }

    public enum ServerError: Error { case didNotStart(String) }

    /// The port of a `key=127.0.0.1:port` in a log line.
    private static func port(in line: String, after key: String) -> Int? {
        guard let range = line.range(of: key + #"=127\.0\.0\.1:(\d+)"#, options: .regularExpression) else { return nil }
        return Int(line[range].split(separator: ":").last!)
    }

    /// The server's process id.
    public var pid: Int32 { process.pid }

    /// Log lines so far.
    public var log: [String] { process.output }

    /// SIGKILL: no shutdown work at all.
    public func kill() {
        process.kill(signal: SIGKILL)
        process.wait()
    }

    /// SIGTERM and wait: the graceful stop.
    @discardableResult
    public func stop() -> Int32 {
        terminate()
        return waitForExit()
    }

    /// SIGTERM, not waiting: the graceful stop begins.
    public func terminate() { process.kill(signal: SIGTERM) }

    /// Sends `signal` (SIGHUP, say) and returns at once.
    public func signal(_ signal: Int32) { process.kill(signal: signal) }

    /// Waits for the process to end; returns its exit status.
    public func waitForExit() -> Int32 { process.wait() }

    /// A new process on the same data directory and port.
    public func restarted() throws -> ServerProcess {
        try ServerProcess(dataDirectory: dataDirectory, port: port, arguments: extraArguments)
    }

    /// A connected line client.
    public func client() throws -> LineClient { try LineClient(port: port) }

    deinit { process.kill(signal: SIGKILL) }
}
