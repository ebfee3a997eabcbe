import Cairn
import CairnRecipes
import CairnTesting
import Foundation
import Synchronization
import Testing

@Suite("Recipes against the real server: election, lock, registry")
struct RecipeTests {
    let directory = TemporaryDirectory("cairn-recipes")
    let server: ServerProcess

    init() throws { server = try ServerProcess(dataDirectory: directory.appending("data")) }

    @Test(
        "election: the leader is killed (SIGKILL) and another takes over within its session timeout plus a small margin"
    )
    func leaderFailover() throws {
        let demo = BuiltProducts.path(of: "election-demo")
        let candidates = try ["a", "b", "c"].map { id in
            try ChildProcess(demo, ["--port", "\(server.port)", "--id", id, "--session-timeout-ms", "2000"])
        }
        var leader: Int?
        let found = candidates[0].waitForOutput(seconds: 20) { _ in
            leader = candidates.firstIndex { $0.output.contains { $0.hasPrefix("leader") } }
            return leader != nil
        }
        try #require(found)
        let killedAt = Date()
        candidates[leader!].kill()
        var successor: Int?
        // Poll through a survivor: a dead process's wait returns at once.
        _ = candidates[(leader! + 1) % candidates.count].waitForOutput(seconds: 20) { _ in
            successor = candidates.indices.first {
                $0 != leader! && candidates[$0].output.contains { $0.hasPrefix("leader") }
            }
            return successor != nil
        }
        let takeover = Date().timeIntervalSince(killedAt)
        #expect(
            successor != nil,
            "outputs: \(candidates.map(\.output)) \(candidates.map(\.errorOutput)); server: \(server.log.suffix(5))")
        #expect(takeover < 2.0 + 1.5, "took \(takeover) s with a 2 s session timeout")
        let leaders = candidates.indices.filter {
            $0 != leader! && candidates[$0].output.contains { $0.hasPrefix("leader") }
        }
        #expect(leaders.count == 1, "exactly one new leader")
    }

    @Test("election: when the leader steps down exactly one other candidate hears of it (no herd)")
    func noHerd() async throws {
        let configuration = clientConfiguration(server)
        let clients = (0..<5).map { _ in CairnClient(configuration: configuration) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in clients { group.addTask { try await client.run() } }
            let elections = clients.enumerated().map { LeaderElection(client: $1, name: "herd", candidate: "c\($0)") }
            var runs: [Task<Void, any Error>] = []
            for election in elections {
                runs.append(Task { try await election.run() })
                // Join in order, so candidate 0 leads.
                try await waitUntil("\(runs.count) candidates joined") {
                    (try? await clients[0].children("/election/herd"))?.count == runs.count
                }
            }
            try await waitUntil("candidate 0 leads") { elections[0].isLeader }
            // The others' events: the leader also hears its own node go (it watches it while it leads).
            let before = clients.dropFirst().map(\.watchEventsReceived).reduce(0, +)
            runs[0].cancel()
            try await waitUntil("candidate 1 takes over") { elections[1].isLeader }
            try await Task.sleep(for: .milliseconds(300))
            let after = clients.dropFirst().map(\.watchEventsReceived).reduce(0, +)
            #expect(after - before == 1, "one watch event among the other candidates for one leader change")
            #expect(elections.dropFirst(2).allSatisfy { !$0.isLeader })
            for run in runs { run.cancel() }
            for client in clients { await client.close() }
            group.cancelAll()
        }
    }

    @Test("election: who leads is seen by a client that is no candidate, and follows a leader stepping down")
    func electionObserved() async throws {
        let configuration = clientConfiguration(server)
        try await CairnClient.withClient(configuration) { observer in
            #expect(try await LeaderElection.leader(of: "seen", client: observer) == nil, "no election yet")
            try await CairnClient.withClient(configuration) { client in
                let first = LeaderElection(client: client, name: "seen", candidate: "host-a:80")
                let running = Task { try await first.run() }
                try await waitUntil("a leads") { first.isLeader }
                let second = LeaderElection(client: client, name: "seen", candidate: "host-b:80")
                let standing = Task { try await second.run() }
                defer { standing.cancel() }
                try await waitUntil("b stands") { (try? await observer.children("/election/seen"))?.count == 2 }
                #expect(try await LeaderElection.leader(of: "seen", client: observer) == "host-a:80")
                running.cancel()
                try await waitUntil("b leads") { second.isLeader }
                #expect(try await LeaderElection.leader(of: "seen", client: observer) == "host-b:80")
            }
        }
    }

    @Test("lock: 4 clients x 10 increments of a counter znode under the lock end exactly at 40")
    func lockExcludes() async throws {
        let configuration = clientConfiguration(server)
        _ = try await CairnClient.withClient(configuration) { setup in
            try await setup.create("/counter", data: Array("0".utf8))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    try await CairnClient.withClient(configuration) { client in
                        let lock = DistributedLock(client: client, name: "counter")
                        for _ in 0..<10 {
                            try await lock.withLock(timeout: .seconds(30)) {
                                let value = Int(try await client.get("/counter").text)!
                                try await Task.sleep(for: .milliseconds(2))  // widen the race a lock must close
                                try await client.set("/counter", data: Array("\(value + 1)".utf8))
                            }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let final = try await CairnClient.withClient(configuration) { try await $0.get("/counter").text }
        #expect(final == "40")
    }

    @Test("lock: the fencing token grows from holder to holder; a holder re-enters and keeps it until its last release")
    func lockFencingAndReentry() async throws {
        let configuration = clientConfiguration(server)
        try await CairnClient.withClient(configuration) { client in
            let first = DistributedLock(client: client, name: "f")
            #expect(first.fencingToken == nil, "not held")
            try await first.acquire(timeout: .seconds(5))
            let token = try #require(first.fencingToken)
            try await first.acquire(timeout: .milliseconds(100))
            #expect(first.fencingToken == token, "re-entered: the same hold")
            await first.release()
            #expect(try await client.children("/locks/f").count == 1, "still held once")
            let second = DistributedLock(client: client, name: "f")
            await #expect(throws: DistributedLock.Error.timedOut) {
                try await second.acquire(timeout: .milliseconds(300))
            }
            await first.release()
            #expect(first.fencingToken == nil)
            try await second.acquire(timeout: .seconds(5))
            #expect(try #require(second.fencingToken) > token, "a later holder's token is larger")
            await second.release()
            #expect(try await client.children("/locks/f").isEmpty)
        }
    }

    @Test("lock: a holder whose node is deleted by someone else is told at once")
    func lockLost() async throws {
        let configuration = clientConfiguration(server)
        try await CairnClient.withClient(configuration) { client in
            let lock = DistributedLock(client: client, name: "gone")
            try await lock.acquire(timeout: .seconds(5))
            let lost = Task { await lock.lost() }
            try await Task.sleep(for: .milliseconds(200))
            try await CairnClient.withClient(configuration) { other in
                for node in try await other.children("/locks/gone") { try await other.delete("/locks/gone/" + node) }
            }
            #expect(await lost.value == .nodeDeleted)
            await lock.release()
            #expect(await lock.lost() == nil, "not held")
        }
    }

    @Test("election: a leader whose node is deleted stops leading at once, stands again and leads again")
    func electionNodeDeleted() async throws {
        let configuration = clientConfiguration(server)
        try await CairnClient.withClient(configuration) { client in
            let election = LeaderElection(client: client, name: "gone", candidate: "a")
            let changes = election.leadership()
            let running = Task { try await election.run() }
            defer { running.cancel() }
            var seen: [Bool] = []
            for await leading in changes {
                seen.append(leading)
                if seen == [false, true] {
                    try await CairnClient.withClient(configuration) { other in
                        for node in try await other.children("/election/gone") {
                            try await other.delete("/election/gone/" + node)
                        }
                    }
                }
                if seen.count == 4 { break }
            }
            #expect(seen == [false, true, false, true], "led, was told it lost, led again")
            #expect(try await client.children("/election/gone").count == 1, "one new candidate node")
        }
    }

    @Test("lock: a waiting acquire cancelled throws and leaves no node behind")
    func lockCancelled() async throws {
        let configuration = clientConfiguration(server)
        try await CairnClient.withClient(configuration) { client in
            let held = DistributedLock(client: client, name: "c")
            try await held.acquire(timeout: .seconds(5))
            let wanted = DistributedLock(client: client, name: "c")
            let waiting = Task { try await wanted.acquire(timeout: .seconds(30)) }
            try await waitUntil("the waiter queued") { (try? await client.children("/locks/c"))?.count == 2 }
            waiting.cancel()
            await #expect(throws: CancellationError.self) { try await waiting.value }
            #expect(try await client.children("/locks/c").count == 1, "the waiter's node is gone")
            await held.release()
        }
    }

    @Test("lock: acquire gives up after its timeout and leaves no node behind")
    func lockTimeout() async throws {
        let configuration = clientConfiguration(server)
        try await CairnClient.withClient(configuration) { (holder: CairnClient) async throws -> Void in
            let held = DistributedLock(client: holder, name: "t")
            try await held.acquire(timeout: .seconds(5))
            try await CairnClient.withClient(configuration) { (waiter: CairnClient) async throws -> Void in
                let wanted = DistributedLock(client: waiter, name: "t")
                await #expect(throws: DistributedLock.Error.timedOut) {
                    try await wanted.acquire(timeout: .milliseconds(300))
                }
                #expect(try await waiter.children("/locks/t").count == 1)
            }
            await held.release()
            #expect(try await holder.children("/locks/t").isEmpty)
        }
    }

    /// A client through a proxy that drops its connection in place of the first reply to a create below `directory`:
    /// the server made the node, the client never heard.
    func droppingCreateReply(under directory: String) throws -> (DroppingProxy, CairnClient.Configuration) {
        let proxy = try DroppingProxy(to: server.port, dropping: createReply(under: directory))
        var configuration = clientConfiguration(server)
        configuration.addresses = [CairnClient.Address(host: "127.0.0.1", port: proxy.port)]
        return (proxy, configuration)
    }

    @Test("lock: the connection drops after the server made the lock's node, before its reply: one node, lock held")
    func lockProtectedCreate() async throws {
        let (proxy, configuration) = try droppingCreateReply(under: "/locks/p")
        try await CairnClient.withClient(configuration) { client in
            try await client.createParents("/locks/p")
            proxy.arm()
            let lock = DistributedLock(client: client, name: "p")
            // Unprotected, the retry waited behind its own orphan until this timeout.
            try await lock.acquire(timeout: .seconds(10))
            #expect(proxy.dropped == 1, "the connection was dropped at the create's reply")
            let nodes = try await client.children("/locks/p")
            #expect(nodes.count == 1 && nodes[0].hasPrefix("_c_"), "found again by its GUID, not made twice: \(nodes)")
            await lock.release()
            #expect(try await client.children("/locks/p").isEmpty)
        }
    }

    @Test("election: the connection drops after the server made the candidate's node, before its reply: it leads")
    func electionProtectedCreate() async throws {
        let (proxy, configuration) = try droppingCreateReply(under: "/election/p")
        try await CairnClient.withClient(configuration) { client in
            try await client.createParents("/election/p")
            proxy.arm()
            let election = LeaderElection(client: client, name: "p", candidate: "a")
            let running = Task { try await election.run() }
            defer { running.cancel() }
            let deadline = ContinuousClock.now + .seconds(10)
            while !election.isLeader && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(election.isLeader, "led, rather than waiting behind its own orphan")
            #expect(proxy.dropped == 1)
            #expect(try await client.children("/election/p").count == 1, "one candidate node")
        }
    }
}

/// Polls `condition` every 20 ms for up to 10 s.
func waitUntil(_ what: String = "condition", _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(10)
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("\(what): not within 10 s")
}
