import CairnTesting
import Foundation
import Testing

/// The repository's fixtures/ directory.
let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("fixtures").path

/// A copy of a fixture data directory in `directory`, so tests may damage or repair it.
func copyFixture(_ name: String, into directory: TemporaryDirectory) throws -> String {
    let target = directory.appending(name)
    try FileManager.default.copyItem(atPath: fixtures + "/" + name, toPath: target)
    return target
}

/// The node lines of a dump (the header, with its zxid and time, left out).
func nodeLines(_ file: String) throws -> [String] {
    Array(try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").dropFirst().map(String.init))
}

/// A dump line with its zxids and times masked: what a live load cannot keep (the server gives its own).
func withoutZxidsAndTimes(_ line: String) -> String {
    line.replacing(#/"(czxid|mzxid|pzxid|ctime|mtime)":\d+/#) { "\"\($0.1)\":_" }
}

@Suite("cairnctl against a live server")
struct CairnctlLiveTests {
    let directory = TemporaryDirectory("cairnctl")
    let server: ServerProcess

    init() throws { server = try ServerProcess(dataDirectory: directory.appending("data")) }

    func ctl(_ arguments: String...) throws -> CommandResult {
        try ChildProcess.run("cairnctl", arguments + ["--server", "127.0.0.1:\(server.port)"])
    }

    @Test("listing commands print -o text, json or table; --json is -o json")
    func outputFormats() throws {
        #expect(try ctl("create", "/t", "12345").status == 0)
        #expect(try ctl("create", "/t/child", "").status == 0)
        let table = try ctl("ls", "/", "-o", "table").output
        #expect(
            table.first?.split(separator: " ", omittingEmptySubsequences: true) == [
                "NODE", "VERSION", "BYTES", "CHILDREN", "EPHEMERAL", "OWNER",
            ])
        let row = try #require(table.first { $0.hasPrefix("t ") })
        #expect(row.split(separator: " ", omittingEmptySubsequences: true) == ["t", "0", "5", "1"], "\(table)")
        let json = try ctl("ls", "/", "-o", "json").output
        #expect(json == (try ctl("ls", "/", "--json").output))
        #expect(json.contains(#"{"data_length":5,"num_children":1,"path":"/t","version":0}"#), "\(json)")
        #expect(try ctl("ls", "/", "-o", "text").output.contains("t"))
        #expect(try ctl("ls", "/", "-o", "yaml").status == 64)
        #expect(try ctl("snapshot", "save", "-o", directory.appending("s.mdb")).status == 0)
        let snapshots = try ctl("snapshot", "list", "-o", "table").output
        #expect(snapshots.count == 2 && snapshots[0].hasPrefix("ZXID"), "\(snapshots)")
    }

    @Test("on a terminal, snapshot save draws its progress (MB, MB/s) on stderr; off one it prints none")
    func progressOnATerminal() throws {
        let address = "127.0.0.1:\(server.port)"
        let cairnctl = BuiltProducts.path(of: "cairnctl")
        // script(1) gives the command a pseudo-terminal; what it drew comes back on our standard output.
        let saved = try ChildProcess(
            "/usr/bin/env",
            [
                "script", "-qec", "\(cairnctl) snapshot save -o \(directory.appending("tty.mdb")) --server \(address)",
                "/dev/null",
            ])
        #expect(saved.wait() == 0)
        let drawn = saved.output.joined(separator: "\n")
        // The progress line is drawn after a carriage return and an erase-line; the closing summary is not.
        #expect(drawn.contains("\r\u{1B}[Kdownloaded ") && drawn.contains(" MB/s"), "\(drawn)")
        let quiet = try ctl("snapshot", "save", "-o", directory.appending("quiet.mdb"))
        #expect(quiet.status == 0 && !quiet.errorOutput.contains("MB/s"), "\(quiet.errorOutput)")
    }

    @Test("create and set take binary data from a file; --version names the release")
    func dataFileAndVersion() throws {
        let file = directory.appending("blob")
        let blob: [UInt8] = [0, 0xFF, 0x0A, 0x80, 0x01]
        try Data(blob).write(to: URL(fileURLWithPath: file))
        #expect(try ctl("create", "/blob", "--data-file", file).status == 0)
        let read = try ctl("get", "/blob", "--json")
        #expect(read.output.joined().contains(#""data_b64":"AP8KgAE=""#), "\(read.output)")
        #expect(try ctl("set", "/blob", "text", "--data-file", file).status == 64, "not both")
        #expect(try ctl("set", "/blob").status == 64, "set needs data")
        for tool in ["cairn", "cairnctl"] {
            #expect(try ChildProcess.run(tool, ["--version"]).output == ["0.1.0"])
        }
    }

    @Test("cairn serve refuses malformed CAIRN_ variables and log levels, naming each, instead of using defaults")
    func malformedSettings() throws {
        let serve = try ChildProcess(
            "/usr/bin/env",
            [
                "CAIRN_MAX_CONNECTIONS=lots", "CAIRN_WAL_DIRECT_IO=maybe", BuiltProducts.path(of: "cairn"), "serve",
                "--log-level", "chatty", "--data-dir", directory.appending("refused"),
            ])
        #expect(serve.wait() == 64, "bad usage")
        for problem in [
            "CAIRN_MAX_CONNECTIONS=lots is not an integer", "CAIRN_WAL_DIRECT_IO=maybe is not true, false, 1 or 0",
            "--log-level chatty is not one of",
        ] {
            #expect(serve.errorOutput.contains(problem), "\(serve.errorOutput)")
        }
        #expect(!FileManager.default.fileExists(atPath: directory.appending("refused")), "nothing started")
    }

    @Test("help texts fit 80 columns and wrap their paragraphs there, not where the source broke a line")
    func helpAt80Columns() throws {
        let commands = [
            "ls", "get", "stat", "create", "set", "rm", "watch", "stats", "health", "dump", "load", "snapshot save",
            "snapshot list", "snapshot restore", "wal inspect", "wal verify", "wal repair", "acl get", "acl set",
            "digest", "sessions", "ephemerals",
        ]
        let helps =
            [("cairn", ["--help"]), ("cairn", ["serve", "--help"]), ("cairnctl", ["--help"])]
            + commands.map { ("cairnctl", $0.split(separator: " ").map(String.init) + ["--help"]) }
        for (tool, arguments) in helps {
            let help = try ChildProcess.run(tool, arguments).output
            #expect(help.allSatisfy { $0.count <= 80 }, "\(tool) \(arguments): \(help.filter { $0.count > 80 })")
            // The prose before USAGE: no line of a paragraph ends where the next line's first word would have fit
            // (ArgumentParser fills lines to 79 columns).
            let prose = help.prefix { !$0.hasPrefix("USAGE:") }
            for (line, next) in zip(prose, prose.dropFirst()) where !line.isEmpty && !next.isEmpty {
                let word = next.prefix { $0 != " " }
                #expect(
                    line.count + 1 + word.count > 79, "\(tool) \(arguments): a paragraph broken early at \"\(line)\"")
            }
        }
    }

    @Test("an IPv6 loopback address in brackets, [::1]:PORT, for cairn serve and cairnctl alike")
    func ipv6Address() throws {
        let serve = try ChildProcess(
            BuiltProducts.path(of: "cairn"),
            [
                "serve", "--data-dir", directory.appending("v6"), "--listen", "[::1]:0", "--zk-listen", "none",
                "--admin-listen", "[::1]:0",
            ])
        defer { serve.kill() }
        var port: String?
        #expect(
            serve.waitForOutput(seconds: 20) { lines in
                port =
                    lines.lazy.compactMap { line in
                        line.contains("cairn listening")
                            ? line.firstMatch(of: #/address=::1:(\d+)/#).map { String($0.1) } : nil
                    }.first
                return port != nil
            }, "\(serve.output)")
        let listing = try ChildProcess.run("cairnctl", ["ls", "/", "--server", "[::1]:\(try #require(port))"])
        #expect(listing.status == 0 && listing.output == ["zookeeper"], "\(listing.errorOutput)")
    }

    @Test("dump, load into a fresh server, dump again: the same tree")
    func dumpLoadRoundTrip() throws {
        #expect(try ctl("load", fixtures + "/registry.jsonl").status == 0)
        #expect(try ctl("load", fixtures + "/config-binary.jsonl").status == 0)
        let first = directory.appending("first.jsonl")
        #expect(try ctl("dump", "-o", first).status == 0)
        let other = try ServerProcess(dataDirectory: directory.appending("other"))
        #expect(try ChildProcess.run("cairnctl", ["load", first, "--server", "127.0.0.1:\(other.port)"]).status == 0)
        let second = directory.appending("second.jsonl")
        #expect(
            try ChildProcess.run("cairnctl", ["dump", "-o", second, "--server", "127.0.0.1:\(other.port)"]).status == 0)
        let lines = try nodeLines(first)
        #expect(
            lines.count == 2 + 3 + 50 * 21 + 14,
            "root, ZooKeeper's three, /services, 50 services with 20 instances, the config tree; no ephemerals")
        #expect(try nodeLines(second).map(withoutZxidsAndTimes) == lines.map(withoutZxidsAndTimes), "counters too")
        #expect(lines.contains { $0.contains("\"data_b64\"") }, "binary values travel as base64")
    }

    @Test("a live dump equals an offline dump of the same data directory")
    func liveEqualsOffline() throws {
        #expect(try ctl("load", fixtures + "/registry.jsonl").status == 0)
        let live = directory.appending("live.jsonl")
        #expect(try ctl("dump", "-o", live).status == 0)
        let refused = try ChildProcess.run("cairnctl", ["dump", "--data-dir", server.dataDirectory])
        #expect(
            refused.status == 1 && refused.errorOutput.contains("in use by another process"),
            "offline commands wait for the server to stop")
        server.stop()
        let offline = directory.appending("offline.jsonl")
        #expect(
            try ChildProcess.run("cairnctl", ["dump", "--data-dir", server.dataDirectory, "-o", offline])
                .status == 0)
        #expect(try nodeLines(offline) == nodeLines(live))
    }

    @Test("a snapshot saved live and restored offline holds the tree at its zxid")
    func snapshotSaveRestore() throws {
        #expect(try ctl("load", fixtures + "/config-binary.jsonl").status == 0)
        let snapshot = directory.appending("backup.mdb")
        let saved = try ctl("snapshot", "save", "-o", snapshot, "--json")
        #expect(saved.status == 0)
        let before = directory.appending("before.jsonl")
        #expect(try ctl("dump", "-o", before).status == 0)
        #expect(try ctl("set", "/config/text", "changed after the snapshot").status == 0)
        #expect(try ctl("snapshot", "list").output.count >= 1)
        let restored = directory.appending("restored")
        let restore = try ChildProcess.run("cairnctl", ["snapshot", "restore", snapshot, "--data-dir", restored])
        #expect(restore.status == 0)
        let after = directory.appending("after.jsonl")
        #expect(try ChildProcess.run("cairnctl", ["dump", "--data-dir", restored, "-o", after]).status == 0)
        #expect(try nodeLines(after) == nodeLines(before))
        let again = try ChildProcess.run("cairnctl", ["snapshot", "restore", snapshot, "--data-dir", restored])
        #expect(again.status == 1, "restore only fills a new data directory")
    }

    @Test("load conflict modes: fail names the path and the count, skip leaves, overwrite replaces")
    func conflicts() throws {
        #expect(try ctl("load", fixtures + "/config-binary.jsonl").status == 0)
        #expect(try ctl("set", "/config/text", "local edit").status == 0)
        let failed = try ctl("load", fixtures + "/config-binary.jsonl")
        #expect(failed.status == 1)
        #expect(
            failed.errorOutput.contains("loading /config failed: node_exists")
                && failed.errorOutput.contains("0 nodes were loaded"))
        let skipped = try ctl("load", fixtures + "/config-binary.jsonl", "--on-conflict", "skip")
        #expect(skipped.status == 0 && skipped.output.last?.hasPrefix("loaded 0 nodes, skipped 14 in ") == true)
        #expect(try ctl("get", "/config/text").output == ["local edit"])
        let dry = try ctl("load", fixtures + "/config-binary.jsonl", "--on-conflict", "overwrite", "--dry-run")
        #expect(dry.output.last?.hasPrefix("would load 14 nodes, skipped 0 in ") == true)
        #expect(try ctl("get", "/config/text").output == ["local edit"], "a dry run changes nothing")
        #expect(try ctl("load", fixtures + "/config-binary.jsonl", "--on-conflict", "overwrite").status == 0)
        #expect(try ctl("get", "/config/text").output == ["plain text, ünïcode"])
        let relocated = try ctl("load", fixtures + "/config-binary.jsonl", "--at", "/copy")
        #expect(relocated.status == 0)
        #expect(try ctl("ls", "/copy/config").output.count == 13)
    }

    @Test("rm -R: a subtree within one batch goes atomically or not at all; a larger one in batches, said so")
    func removeSubtree() throws {
        #expect(try ctl("load", fixtures + "/registry.jsonl").status == 0)
        // svc-00 refuses deletes below it: world may read, create and administer it, not delete its children.
        #expect(try ctl("acl", "set", "/services/svc-00", "world:anyone:rca").status == 0)
        let refused = try ctl("rm", "-R", "/services/svc-00")
        #expect(refused.status == 1 && refused.errorOutput.contains("no_auth"), "\(refused.errorOutput)")
        #expect(!refused.errorOutput.contains("batches"), "21 nodes: one batch")
        #expect(try ctl("ls", "/services/svc-00").output.count == 20, "one atomic multi: nothing deleted")
        #expect(try ctl("acl", "set", "/services/svc-00", "world:anyone:cdrwa").status == 0)
        let batched = try ctl("rm", "-R", "/services", "--batch-size", "100")
        #expect(batched.status == 0, "\(batched.errorOutput)")
        #expect(
            batched.errorOutput.contains(
                "/services holds 1051 nodes, more than one batch of 100: deleting in 11 atomic"),
            "\(batched.errorOutput)")
        #expect(try ctl("stat", "/services").status == 1)
        #expect(try ctl("ls", "/").output == ["zookeeper"])
    }

    @Test("exit codes: 0 done, 1 failed operation, 2 unreachable, 64 bad usage; health probes writes")
    func exitCodes() throws {
        #expect(try ctl("create", "/x", "1").output == ["/x"])
        #expect(try ctl("get", "/missing").status == 1)
        #expect(try ctl("rm", "/missing").status == 1)
        #expect(try ctl("health").status == 0)
        #expect(try ChildProcess.run("cairnctl", ["health", "--server", "127.0.0.1:1"]).status == 2)
        #expect(try ChildProcess.run("cairnctl", ["get"]).status == 64)
        #expect(try ctl("create", "/x/a").status == 0)
        #expect(try ctl("rm", "-R", "/x").status == 0)
        #expect(try ctl("stat", "/x").status == 1)
    }
}

@Suite("cairnctl on damaged fixtures")
struct CairnctlFixtureTests {
    let directory = TemporaryDirectory("cairnctl-fix")

    @Test("a torn tail verifies as repairable, and the data directory opens")
    func tornTail() throws {
        let dir = try copyFixture("torn-tail", into: directory)
        let verify = try ChildProcess.run("cairnctl", ["wal", "verify", "--data-dir", dir])
        #expect(verify.status == 0 && verify.output.contains { $0.hasPrefix("torn tail") })
        #expect(try ChildProcess.run("cairnctl", ["dump", "--data-dir", dir]).status == 0)
    }

    @Test("a corrupt record stops verify and dump with file and offset; repair cuts it and keeps the bytes")
    func corruptMiddle() throws {
        let dir = try copyFixture("corrupt-middle", into: directory)
        let damage = try String(contentsOfFile: dir + "/DAMAGE", encoding: .utf8).split(separator: " ")
        let (file, offset) = (String(damage[0]), damage[1].trimmingCharacters(in: .whitespacesAndNewlines))
        let verify = try ChildProcess.run("cairnctl", ["wal", "verify", "--data-dir", dir])
        #expect(verify.status == 3)
        #expect(verify.errorOutput.contains(file) && verify.errorOutput.contains("byte offset \(offset)"))
        #expect(verify.errorOutput.contains("cairnctl wal repair --data-dir"))
        #expect(try ChildProcess.run("cairnctl", ["dump", "--data-dir", dir]).status == 3)
        let inspect = try ChildProcess.run("cairnctl", ["wal", "inspect", "--data-dir", dir])
        #expect(inspect.status == 3 && !inspect.output.isEmpty, "inspect prints the records before the damage")
        let repair = try ChildProcess.run("cairnctl", ["wal", "repair", "--data-dir", dir])
        #expect(repair.status == 0)
        let side = try #require(repair.output.first { $0.hasPrefix("cut bytes kept in") }).split(separator: " ").last
            .map(String.init)!
        #expect(FileManager.default.fileExists(atPath: side))
        #expect(try ChildProcess.run("cairnctl", ["wal", "verify", "--data-dir", dir]).status == 0)
        let dump = try ChildProcess.run("cairnctl", ["dump", "--data-dir", dir])
        #expect(dump.status == 0 && dump.output.count > 1)
    }

    @Test("a damaged snapshot is refused by restore with exit 3")
    func damagedSnapshot() throws {
        let result = try ChildProcess.run(
            "cairnctl",
            ["snapshot", "restore", fixtures + "/damaged-snapshot.mdb", "--data-dir", directory.appending("new")])
        #expect(result.status == 3)
        #expect(result.errorOutput.contains("damaged-snapshot.mdb") && result.errorOutput.contains("checksum"))
        #expect(!FileManager.default.fileExists(atPath: directory.appending("new/store/data.mdb")), "nothing restored")
    }
}

@Suite("cairnctl with access control: digests, ACLs through dump, load and snapshots, operator rights")
struct CairnctlAccessTests {
    let directory = TemporaryDirectory("cairnctl-acl")
    let superDigest = "super:xQJmxLMiHGwaqBvst5y6rkB6HQs="
    let server: ServerProcess

    init() throws {
        server = try ServerProcess(
            dataDirectory: directory.appending("data"), arguments: ["--super-digest", superDigest])
    }

    func ctl(_ server: ServerProcess, _ arguments: String...) throws -> CommandResult {
        try ChildProcess.run("cairnctl", arguments + ["--server", "127.0.0.1:\(server.port)"])
    }

    @Test("sessions lists every session with its ephemerals; ephemerals SESSION lists them; both need the super user")
    func sessionsAndEphemerals() throws {
        let alice = try server.client()
        let aliceID = try alice.connect().id
        for name in ["a1", "a2"] {
            #expect(try alice.call(["op": "create", "path": "/\(name)", "ephemeral": true]).ok)
        }
        let bob = try server.client()
        let bobID = try bob.connect().id
        #expect(try bob.call(["op": "create", "path": "/b1", "ephemeral": true]).ok)
        #expect(try ctl(server, "sessions").status == 1, "an operator's")
        let listed = try ctl(server, "sessions", "--json", "--auth", "super:admin")
        #expect(listed.status == 0, "\(listed.errorOutput)")
        let sessions = try listed.output.map {
            try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let ephemerals = Dictionary(
            uniqueKeysWithValues: sessions.map { ($0["session_id"] as? String ?? "?", $0["ephemerals"] as? Int ?? -1) })
        #expect(ephemerals[aliceID] == 2 && ephemerals[bobID] == 1, "\(sessions)")
        #expect(sessions.allSatisfy { $0["connected"] as? Bool == true && $0["timeout_ms"] as? Int ?? 0 > 0 })
        let table = try ctl(server, "sessions", "-o", "table", "--auth", "super:admin")
        #expect(table.output.first?.hasPrefix("SESSION") == true, "\(table.output)")
        #expect(table.output.contains { $0.hasPrefix(aliceID) && $0.hasSuffix(" 2") }, "\(table.output)")
        let text = try ctl(server, "sessions", "--auth", "super:admin")
        #expect(text.output.contains { $0.hasPrefix(aliceID + " ") && $0.hasSuffix(" 2") }, "\(text.output)")
        let paths = try ctl(server, "ephemerals", aliceID, "--auth", "super:admin")
        #expect(paths.status == 0 && paths.output == ["/a1", "/a2"], "\(paths.output) \(paths.errorOutput)")
        #expect(try ctl(server, "ephemerals", bobID).status == 1, "another session's: an operator's")
        #expect(try ctl(server, "ephemerals", "nothex").status == 64)
    }

    @Test("ACLs survive dump and load, and a snapshot's restore; without the super user the operator ops are refused")
    func aclsTravel() throws {
        let digest = try ChildProcess.run("cairnctl", ["digest", "super:admin"])
        #expect(digest.status == 0 && digest.output == [superDigest], "ZooKeeper's digest of super:admin")
        let bob = try #require(try ChildProcess.run("cairnctl", ["digest", "bob:bobpw"]).output.first)
        let teamACL = "digest:\(bob):cdrwa,world:anyone:r"
        #expect(try ctl(server, "create", "/team", "shared", "--acl", teamACL, "--auth", "bob:bobpw").status == 0)
        #expect(try ctl(server, "create", "/team/secret", "s", "--acl", "auth::rw", "--auth", "bob:bobpw").status == 0)
        let expected = [
            "/team": ["digest:\(bob):cdrwa", "world:anyone:r"], "/team/secret": ["digest:\(bob):rw"],
        ]
        func acls(_ server: ServerProcess) throws -> [String: [String]] {
            var found: [String: [String]] = [:]
            for path in expected.keys {
                found[path] = try ctl(server, "acl", "get", path, "--auth", "super:admin").output
            }
            return found
        }
        #expect(try acls(server) == expected)
        #expect(try ctl(server, "get", "/team/secret").status == 1, "anonymous reads are refused by the ACL")

        let refused = try ctl(server, "dump", "-o", directory.appending("refused.jsonl"))
        #expect(refused.status == 1 && refused.errorOutput.contains("no_auth"), "\(refused.errorOutput)")
        let dump = directory.appending("tree.jsonl")
        #expect(try ctl(server, "dump", "-o", dump, "--auth", "super:admin").status == 0)
        #expect(try nodeLines(dump).contains { $0.contains("\"acl\"") && $0.contains("/team/secret") })

        let other = try ServerProcess(
            dataDirectory: directory.appending("other"), arguments: ["--super-digest", superDigest])
        #expect(try ctl(other, "load", dump, "--auth", "super:admin").status == 0)
        #expect(try acls(other) == expected, "after dump and load")

        let snapshot = directory.appending("backup.mdb")
        #expect(try ctl(server, "snapshot", "save", "-o", snapshot).status == 1, "a snapshot needs the super user")
        #expect(try ctl(server, "snapshot", "save", "-o", snapshot, "--auth", "super:admin").status == 0)
        let restored = directory.appending("restored")
        #expect(
            try ChildProcess.run("cairnctl", ["snapshot", "restore", snapshot, "--data-dir", restored]).status == 0)
        let fromSnapshot = try ServerProcess(dataDirectory: restored, arguments: ["--super-digest", superDigest])
        #expect(try acls(fromSnapshot) == expected, "after a snapshot's restore")
    }
}
