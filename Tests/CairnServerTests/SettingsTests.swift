import CairnTesting
import Foundation
import Testing

/// `cairn serve`'s settings from flags, `CAIRN_` variables and a YAML `--config` file: precedence, every kind of bad
/// value refused with its key, value and source, and `--print-config` as a file that loads back the same.
@Suite("cairn serve's settings: flag > environment > --config file > default")
struct SettingsTests {
    let directory = TemporaryDirectory("cairn-settings")

    /// `cairn serve` with `environment` (on top of a clean one) and `arguments`; waits for it to exit.
    private func serve(_ arguments: [String], environment: [String] = []) throws -> CommandResult {
        let child = try ChildProcess(
            "/usr/bin/env",
            ["-i", "PATH=/usr/bin:/bin"] + environment + [BuiltProducts.path(of: "cairn"), "serve"] + arguments)
        let status = child.wait()
        return CommandResult(status: status, output: child.output, errorOutput: child.errorOutput)
    }

    private func file(_ name: String, _ text: String) throws -> String {
        let path = directory.appending(name)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The `key: value` lines of a `--print-config`, comments left out.
    private static func settings(_ output: [String]) -> [String: String] {
        var settings: [String: String] = [:]
        for line in output where !line.hasPrefix("#") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let value = line[line.index(after: colon)...].split(separator: "#", maxSplits: 1)[0]
            settings[String(line[..<colon])] = value.trimmingCharacters(in: .whitespaces)
        }
        return settings
    }

    @Test("a flag wins over the environment, which wins over the file, which wins over the default")
    func precedence() throws {
        let config = try file(
            "cairn.yaml",
            """
            listen: 127.0.0.1:0
            max-connections: 5
            log-level: debug
            snapshots-kept: 7
            """)
        let printed = try serve(
            ["--config", config, "--print-config", "--log-level", "warning"],
            environment: ["CAIRN_MAX_CONNECTIONS=6", "CAIRN_LOG_LEVEL=error"])
        #expect(printed.status == 0, "\(printed.errorOutput)")
        let lines = printed.output
        #expect(lines.contains(#"log-level: "warning"  # flag"#), "\(lines)")
        #expect(lines.contains("max-connections: 6  # environment"))
        #expect(lines.contains("snapshots-kept: 7  # file"))
        #expect(lines.contains(#"listen: "127.0.0.1:0"  # file"#))
        #expect(lines.contains(#"data-dir: "./cairn-data"  # default"#))
        #expect(lines.contains("# tls-cert: (not set)"))
    }

    @Test("the file's settings are the ones the server runs with")
    func fileApplies() throws {
        let config = try file(
            "serve.yaml",
            """
            # a comment
            data-dir: \(directory.appending("data"))
            listen: 127.0.0.1:0
            zk-listen: none
            admin-listen: none
            max-connections: 1
            """)
        let server = try ChildProcess(BuiltProducts.path(of: "cairn"), ["serve", "--config", config])
        defer { server.kill() }
        #expect(server.waitForOutput(seconds: 60) { $0.contains { $0.contains("cairn listening") } })
        let line = try #require(server.output.first { $0.contains("cairn listening") })
        let range = try #require(line.range(of: #"address=127\.0\.0\.1:\d+"#, options: .regularExpression))
        let port = try #require(Int(line[range].split(separator: ":").last ?? ""))
        let first = try LineClient(port: port)
        #expect(try first.call(["op": "ping"]).ok)
        let second = try LineClient(port: port)
        #expect(try second.reply().errorCode == "unavailable", "max-connections: 1 from the file")
        #expect(!server.output.contains { $0.contains("zookeeper protocol listening") }, "zk-listen: none")
        #expect(FileManager.default.fileExists(atPath: directory.appending("data/wal")))
    }

    @Test(
        "every kind of bad value stops the start with exit 64, naming the key, the value and the source",
        arguments: [
            (["--max-connections", "lots"], [], "--max-connections lots is not an integer"),
            (
                [], ["CAIRN_WAL_DIRECT_IO=maybe"],
                "the environment's CAIRN_WAL_DIRECT_IO=maybe is not true, false, 1 or 0"
            ),
            ([], ["CAIRN_MAX_CONECTIONS=5"], "the environment's CAIRN_MAX_CONECTIONS is not a setting of cairn serve"),
            (["--listen", "localhost"], [], "--listen localhost is not HOST:PORT or [IPv6]:PORT"),
            (["--log-format", "xml"], [], "--log-format xml is not one of text, json"),
            (["--event-loops=-1"], [], "--event-loops -1 is not an integer of at least 0"),
            (["--super-digest", "nocolon"], [], "--super-digest nocolon is not user:base64(sha1(user:password))"),
            (
                ["--zk-four-letter-words", "ruok,kill"], [],
                "--zk-four-letter-words ruok,kill is not * or a comma-separated list"
            ),
            (["--config", "FILE:max-watches: many"], [], "FILE's max-watches: many is not an integer"),
            (["--config", "FILE:snapshot-every: 5"], [], "FILE's snapshot-every is not a setting of cairn serve"),
            (["--config", "FILE:listen: [a, b]"], [], "listen is not a single value"),
            (["--config", "FILE:- just\n- a list"], [], "is not a mapping of setting names to values"),
            (["--config", "/nonexistent/cairn.yaml"], [], "--config /nonexistent/cairn.yaml:"),
        ] as [([String], [String], String)])
    func badValues(arguments: [String], environment: [String], problem: String) throws {
        var arguments = arguments
        var problem = problem
        if let index = arguments.firstIndex(where: { $0.hasPrefix("FILE:") }) {
            let path = try file("bad-\(abs(problem.hashValue)).yaml", String(arguments[index].dropFirst(5)))
            arguments[index] = path
            problem = problem.replacingOccurrences(of: "FILE", with: path)
        }
        let result = try serve(arguments + ["--data-dir", directory.appending("never")], environment: environment)
        #expect(result.status == 64, "\(result.errorOutput)")
        #expect(result.errorOutput.contains(problem), "\(result.errorOutput)")
        #expect(!FileManager.default.fileExists(atPath: directory.appending("never")), "nothing started")
    }

    @Test("--print-config's output, loaded as a --config file, gives the same settings")
    func printConfigRoundTrips() throws {
        let first = try serve(
            ["--print-config", "--max-watches", "12", "--zk-four-letter-words", "*", "--admin-listen", "none"],
            environment: ["CAIRN_SUPER_DIGEST=super:xQJmxLMiHGwaqBvst5y6rkB6HQs=", "CAIRN_DATA_DIR=/var/lib/cairn x"])
        #expect(first.status == 0, "\(first.errorOutput)")
        let config = try file("printed.yaml", first.output.joined(separator: "\n"))
        let second = try serve(["--config", config, "--print-config"])
        #expect(second.status == 0, "\(second.errorOutput)")
        #expect(Self.settings(second.output) == Self.settings(first.output))
        #expect(Self.settings(second.output)["max-watches"] == "12")
        #expect(Self.settings(second.output)["data-dir"] == #""/var/lib/cairn x""#)
        #expect(second.output.contains { $0.hasPrefix("max-watches: 12  # file") })
    }
}
