import Cairn
import CairnCore
import CairnRecipes
import CairnTesting
import Foundation
import Testing

/// tools/zookeeper's scripts, run with .venv-compat's python (kazoo 2.11 from tools/setup).
enum ZooKeeperTools {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static var python: String { root + "/.venv-compat/bin/python" }
    static func script(_ name: String) -> String { root + "/tools/zookeeper/" + name }
}

@Suite("Dumps restore exactly: sequence counters, versions and stats, live and offline; migration with ZooKeeper")
struct RestoreTests {
    let directory = TemporaryDirectory("cairn-restore")

    func configuration(_ server: ServerProcess) -> CairnClient.Configuration {
        var configuration = CairnClient.Configuration(addresses: [HostPort(host: "127.0.0.1", port: server.port)])
        configuration.sessionTimeout = .seconds(5)
        return configuration
    }

    func ctl(_ server: ServerProcess?, _ arguments: String...) throws -> CommandResult {
        try ChildProcess.run("cairnctl", arguments + (server.map { ["--server", "127.0.0.1:\($0.port)"] } ?? []))
    }

    /// The tree: under /q five sequential children of which the first three were deleted; an election and a
    /// lock that ran and ended; data set twice and an ACL replaced.
    func makeTree(_ server: ServerProcess) async throws {
        try await CairnClient.withClient(configuration(server)) { client in
            try await client.create("/q")
            var names: [String] = []
            for _ in 0..<5 { names.append(try await client.create("/q/n-", sequential: true)) }
            for name in names.prefix(3) { try await client.delete(name) }
            try await client.set("/q", data: Array("v1".utf8))
            try await client.set("/q", data: Array("v2".utf8))
            try await client.setACL("/q", acl: .open)
            let lock = DistributedLock(client: client, name: "l")
            for _ in 0..<3 { try await lock.withLock(timeout: .seconds(5)) {} }
            for _ in 0..<2 { try await runElection(client, candidates: 1) }
        }
    }

    /// A recipe node's name without its protection prefix (`_c_<GUID>-`).
    func unprotected(_ name: String) -> String { name.hasPrefix("_c_") ? String(name.dropFirst(40)) : name }

    /// Runs `candidates` candidates until one leads; returns the names of their nodes.
    @discardableResult
    func runElection(_ client: CairnClient, candidates: Int) async throws -> [String] {
        let elections = (0..<candidates).map { LeaderElection(client: client, name: "e", candidate: "c\($0)") }
        let tasks = elections.map { election in Task { try await election.run() } }
        defer { for task in tasks { task.cancel() } }
        let deadline = ContinuousClock.now + .seconds(10)
        while !elections.contains(where: \.isLeader) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(elections.filter(\.isLeader).count == 1, "one leader")
        let names = try await client.children("/election/e")
        for task in tasks {
            task.cancel()
            _ = await task.result
        }
        return names
    }

    @Test("a dump loaded live or offline goes on with the dump's sequential names; election and lock work after it")
    func sequenceCounters() async throws {
        let source = try ServerProcess(dataDirectory: directory.appending("source"))
        try await makeTree(source)
        let dump = directory.appending("tree.jsonl")
        #expect(try ctl(source, "dump", "-o", dump).status == 0)

        let live = try ServerProcess(dataDirectory: directory.appending("live"))
        let loaded = try ctl(live, "load", dump)
        #expect(loaded.status == 0, "\(loaded.errorOutput)")
        let offlineDirectory = directory.appending("offline")
        let offlineLoad = try ctl(nil, "load", "--data-dir", offlineDirectory, dump)
        #expect(offlineLoad.status == 0, "\(offlineLoad.errorOutput)")
        let again = directory.appending("again.jsonl")
        #expect(try ctl(nil, "dump", "--data-dir", offlineDirectory, "-o", again).status == 0)
        #expect(try nodeLines(again) == nodeLines(dump), "offline: every line the same, zxids and times included")
        let offline = try ServerProcess(dataDirectory: offlineDirectory)

        for (target, server) in [("live", live), ("offline", offline)] {
            let relisted = directory.appending("\(target).jsonl")
            #expect(try ctl(server, "dump", "-o", relisted).status == 0)
            #expect(
                try nodeLines(relisted).map(withoutZxidsAndTimes) == nodeLines(dump).map(withoutZxidsAndTimes),
                "\(target): the same counters (seq, version, cversion, aversion)")
            try await CairnClient.withClient(configuration(server)) { client in
                // Before the fix a live load numbered from the loaded children: n-0000000002, then node_exists at 3.
                #expect(try await client.create("/q/n-", sequential: true) == "/q/n-0000000005", "\(target)")
                #expect(try await client.create("/q/n-", sequential: true) == "/q/n-0000000006", "\(target)")
                let stat = try #require(try await client.exists("/q"))
                #expect(stat.version == 2 && stat.aversion == 1, "\(target): \(stat)")
                let lock = DistributedLock(client: client, name: "l")
                try await lock.acquire(timeout: .seconds(5))
                #expect(
                    try await client.children("/locks/l").map(unprotected) == ["lock-0000000003"],
                    "\(target): after three holders")
                await lock.release()
                let candidates = try await runElection(client, candidates: 2).map(unprotected).sorted()
                #expect(
                    candidates == ["latch-0000000002", "latch-0000000003"],
                    "\(target): after two candidates")
            }
        }
    }

    @Test("an interrupted offline load leaves a directory no server opens; a finished one is snapshotted")
    func offlineLoadIsMarked() throws {
        let dump = directory.appending("tree.jsonl")
        let source = try ServerProcess(dataDirectory: directory.appending("source"))
        #expect(try ctl(source, "load", fixtures + "/config-binary.jsonl").status == 0)
        #expect(try ctl(source, "dump", "-o", dump).status == 0)
        let broken = directory.appending("broken.jsonl")
        let lines = try String(contentsOfFile: dump, encoding: .utf8).split(separator: "\n")
        try
            (lines.prefix(6).joined(separator: "\n")
            + "\n{\"path\":\"/config/missing/child\",\"data\":\"\",\"kind\":\"persistent\",\"seq\":0,\"stat\":{\"czxid\":1,\"mzxid\":1,\"pzxid\":1,\"ctime\":0,\"mtime\":0,\"version\":0,\"cversion\":0,\"aversion\":0,\"ephemeral_owner\":null,\"data_length\":0,\"num_children\":0}}\n")
            .write(toFile: broken, atomically: true, encoding: .utf8)
        let failed = try ctl(nil, "load", "--data-dir", directory.appending("half"), broken)
        #expect(failed.status == 1 && failed.errorOutput.contains("loading /config/missing/child failed"))
        let refused = try ChildProcess.run(
            "cairn",
            [
                "serve", "--data-dir", directory.appending("half"), "--listen", "127.0.0.1:0", "--zk-listen", "none",
                "--admin-listen", "none",
            ])
        #expect(
            refused.status != 0
                && (refused.output.contains { $0.contains("did not finish") }
                    || refused.errorOutput.contains("did not finish")),
            "\(refused.output) \(refused.errorOutput)")
        #expect(try ctl(nil, "load", "--data-dir", directory.appending("full"), dump).status == 0)
        let snapshots = try FileManager.default.contentsOfDirectory(atPath: directory.appending("full/snapshots"))
        #expect(snapshots.contains { $0.hasSuffix(".manifest") }, "the load's first snapshot: \(snapshots)")
    }

    @Test("ZooKeeper 3.8 → Cairn node for node, a dump under writes consistent at its zxid, Cairn → ZooKeeper alike")
    func zooKeeperMigration() throws {
        let server = try ServerProcess(
            dataDirectory: directory.appending("cairn"), arguments: ["--zk-listen", "127.0.0.1:0"])
        let child = try ChildProcess(
            ZooKeeperTools.python,
            [
                ZooKeeperTools.script("migration-checks.py"), "\(try #require(server.zooKeeperPort))", "\(server.port)",
                BuiltProducts.path(of: "cairnctl"),
            ])
        let status = child.wait()
        let output = child.output.joined(separator: "\n")
        #expect(status == 0 && output.contains("migration checks passed"), "\(output)\n\(child.errorOutput)")
    }
}
