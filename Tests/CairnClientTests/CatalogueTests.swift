import Cairn
import CairnRecipes
import CairnTesting
import Foundation
import Synchronization
import Testing

/// A value shared by a test's tasks.
final class Locked<Value: Sendable>: Sendable {
    private let value: Mutex<Value>

    init(_ value: Value) { self.value = Mutex(value) }

    func withLock<T: Sendable>(_ body: (inout Value) -> T) -> T { value.withLock { body(&$0) } }
}

/// The subtree at `root` as the server has it now: path to data.
func tree(at root: String, _ client: CairnClient) async throws -> [String: [UInt8]] {
    var found: [String: [UInt8]] = [:]
    var pending = [root]
    while let path = pending.popLast() {
        guard let node = try? await client.get(path) else { continue }
        found[path] = node.data
        pending += try await client.children(path).map { path + "/" + $0 }
    }
    return found
}

@Suite("Curator's catalogue against the real server: election, barriers, counter, queue, leader selector")
struct CatalogueTests {
    let faults: RecipeFaults

    init() throws { faults = try RecipeFaults() }

    @Test("election: a leader whose session expires stops leading, another leads, and it stands again behind it")
    func electionExpiry() async throws {
        try await faults.withClient(sessionTimeout: .seconds(2)) { client, proxy in
            let first = LeaderElection(client: client, name: "ex", candidate: "a")
            let running = Task { try await first.run() }
            defer { running.cancel() }
            try await waitUntil { first.isLeader }
            try await faults.withClients(1) { others in
                let second = LeaderElection(client: others[0], name: "ex", candidate: "b")
                let standing = Task { try await second.run() }
                defer { standing.cancel() }
                try await Task.sleep(for: .milliseconds(200))
                #expect(!second.isLeader)
                let told = first.leadership()
                try await faults.expireSession(of: client, through: proxy)
                try await waitUntil("the other leads") { second.isLeader }
                #expect(!first.isLeader)
                var heard: [Bool] = []
                for await leading in told {
                    heard.append(leading)
                    if !leading { break }
                }
                #expect(heard.last == false, "the expired leader was told")
                try await waitUntil("stands again") { try await others[0].children("/election/ex").count == 2 }
                #expect(try await LeaderElection.leader(of: "ex", client: others[0]) == "b")
            }
        }
    }

    @Test("election: the leader keeps leading across a server SIGKILL and restart within its grace, alone")
    func electionRestart() async throws {
        try await faults.withClient { client, _ in
            let leader = LeaderElection(client: client, name: "er", candidate: "a", suspendedGrace: .seconds(20))
            let running = Task { try await leader.run() }
            defer { running.cancel() }
            try await waitUntil { leader.isLeader }
            try faults.restartServer()
            try await faults.withClients(1) { others in
                let other = LeaderElection(client: others[0], name: "er", candidate: "b")
                let standing = Task { try await other.run() }
                defer { standing.cancel() }
                try await waitUntil { try await others[0].children("/election/er").count == 2 }
                #expect(leader.isLeader && !other.isLeader, "one leader, the same")
                #expect(try await LeaderElection.leader(of: "er", client: others[0]) == "a")
            }
        }
    }

    @Test("barrier: waiters block while it is raised, across a server restart, and all go on when it is removed")
    func barrier() async throws {
        try await faults.withClients(4) { clients in
            let path = "/barriers/b"
            try await Barrier(client: clients[0], path: path).raise()
            try await Barrier(client: clients[0], path: path).raise()  // raised already is fine
            let passed = Occupancy()
            let waiters = clients.dropFirst().map { client in
                Task {
                    try await Barrier(client: client, path: path).wait(timeout: .seconds(20))
                    passed.enter()
                }
            }
            await #expect(throws: RecipeError.timedOut) {
                try await Barrier(client: clients[0], path: path).wait(timeout: .milliseconds(300))
            }
            try faults.restartServer()
            try await Task.sleep(for: .milliseconds(300))
            #expect(passed.now == 0, "still raised after the restart")
            try await Barrier(client: clients[0], path: path).remove()
            for waiter in waiters { try await waiter.value }
            #expect(passed.now == 3)
        }
    }

    @Test(
        "barrier: raising it when the create's reply is lost raises it; a waiter whose session expires still goes on at its removal"
    )
    func barrierFaults() async throws {
        try await faults.withClient(dropping: createReply(under: "/barriers")) { client, proxy in
            try await client.createParents("/barriers")
            proxy.arm()
            try await Barrier(client: client, path: "/barriers/f").raise()
            #expect(proxy.dropped == 1)
        }
        try await faults.withClient(sessionTimeout: .seconds(2)) { client, proxy in
            let waiter = Task { try await Barrier(client: client, path: "/barriers/f").wait(timeout: .seconds(30)) }
            try await Task.sleep(for: .milliseconds(200))
            try await faults.expireSession(of: client, through: proxy)
            try await faults.withClients(1) { others in
                try await Barrier(client: others[0], path: "/barriers/f").remove()
            }
            try await waiter.value
        }
    }

    @Test("double barrier: no member gets past enter before the last arrives, none past leave before the last leaves")
    func doubleBarrier() async throws {
        try await faults.withClients(3) { clients in
            let entered = Occupancy()
            let left = Occupancy()
            let members = clients.map { DoubleBarrier(client: $0, path: "/barriers/d", memberCount: 3) }
            let first = members.prefix(2).map { member in
                Task {
                    try await member.enter(timeout: .seconds(20))
                    entered.enter()
                    try await member.leave(timeout: .seconds(20))
                    left.enter()
                }
            }
            try await Task.sleep(for: .milliseconds(300))
            #expect(entered.now == 0, "two of three: nobody enters")
            try await members[2].enter(timeout: .seconds(20))
            try await waitUntil { entered.now == 2 }
            try await Task.sleep(for: .milliseconds(300))
            #expect(left.now == 0, "the third has not left: nobody is past leave")
            try await members[2].leave(timeout: .seconds(20))
            for task in first { try await task.value }
            #expect(try await clients[0].children("/barriers/d").isEmpty, "lowered for the next round")
        }
    }

    @Test(
        "double barrier: a member whose enter reply was lost enters once; one whose session expires counts as gone; a restart changes nothing"
    )
    func doubleBarrierFaults() async throws {
        try await faults.withClient(sessionTimeout: .seconds(2), dropping: createReply(under: "/barriers/df")) {
            client, proxy in
            try await client.createParents("/barriers/df")
            try await faults.withClients(1) { others in
                let other = DoubleBarrier(client: others[0], path: "/barriers/df", memberCount: 2)
                let entering = Task { try await other.enter(timeout: .seconds(20)) }
                proxy.arm()
                try await DoubleBarrier(client: client, path: "/barriers/df", memberCount: 2).enter(
                    timeout: .seconds(20))
                #expect(proxy.dropped == 1)
                try await entering.value
                #expect(try await others[0].children("/barriers/df").count == 3, "two members and ready")
                try faults.restartServer()
                let leaving = Task { try await other.leave(timeout: .seconds(30)) }
                try await faults.expireSession(of: client, through: proxy)
                try await leaving.value
            }
        }
    }

    @Test("shared counter: 4 clients x 25 adds end at exactly 100; compare-and-set refuses a stale value")
    func counter() async throws {
        try await faults.withClients(4) { clients in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in clients {
                    group.addTask {
                        for _ in 0..<25 { try await SharedCounter(client: client, path: "/counters/c").add(1) }
                    }
                }
                try await group.waitForAll()
            }
            let counter = SharedCounter(client: clients[0], path: "/counters/c")
            #expect(try await counter.value() == 100)
            #expect(try await counter.compareAndSet(expected: 99, new: 0) == false)
            #expect(try await counter.compareAndSet(expected: 100, new: -5))
            #expect(try await counter.value() == -5)
            #expect(try await clients[0].get("/counters/c").data == [UInt8](repeating: 0xFF, count: 7) + [0xFB])
            // A value Curator's SharedCount wrote (4 bytes) reads and keeps its width.
            try await clients[0].create("/counters/four", data: [0, 0, 1, 0])
            let four = SharedCounter(client: clients[0], path: "/counters/four")
            #expect(try await four.add(1) == 257)
            #expect(try await clients[0].get("/counters/four").data == [0, 0, 1, 1])
        }
    }

    @Test(
        "shared counter: an add whose reply was lost counts once; its changes are seen across a session expiry and a restart"
    )
    func counterFaults() async throws {
        let setReply: @Sendable (String) -> Bool = { $0.contains(#""op":"set""#) }
        try await faults.withClient(sessionTimeout: .seconds(2), dropping: setReply) { client, proxy in
            let counter = SharedCounter(client: client, path: "/counters/f")
            try await counter.add(1)
            let changes = try await counter.changes()
            let values = Locked<[Int64]>([])
            let seen = Task {
                for try await value in changes {
                    values.withLock { $0.append(value) }
                    if value == 4 { break }
                }
            }
            proxy.arm()
            #expect(try await counter.add(1) == 2)
            #expect(proxy.dropped == 1)
            try await faults.withClients(1) { others in
                #expect(try await SharedCounter(client: others[0], path: "/counters/f").value() == 2, "not twice")
                try await faults.expireSession(of: client, through: proxy)
                try await SharedCounter(client: others[0], path: "/counters/f").add(1)
                try await waitUntil("seen after the expiry") { values.withLock { $0.contains(3) } }
            }
            try faults.restartServer()
            try await faults.withClients(1) { others in
                try await SharedCounter(client: others[0], path: "/counters/f").add(1)
            }
            try await seen.value
            #expect(values.withLock { $0.last } == 4, "seen after the restart")
        }
    }

    @Test(
        "queue: 2 producers x 20 items, 3 locking consumers: every item consumed exactly once, each producer's in order"
    )
    func queue() async throws {
        try await faults.withClients(5) { clients in
            let consumed = Locked<[String]>([])
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, client) in clients.prefix(2).enumerated() {
                    group.addTask {
                        let queue = DistributedQueue(client: client, path: "/queues/q")
                        for item in 0..<20 { try await queue.put(Array("\(index)-\(item)".utf8)) }
                    }
                }
                for client in clients.suffix(3) {
                    group.addTask {
                        let queue = DistributedQueue(client: client, path: "/queues/q")
                        while consumed.withLock({ $0.count }) < 40 {
                            do {
                                try await queue.consume(timeout: .milliseconds(500)) { data in
                                    consumed.withLock { $0.append(String(decoding: data, as: UTF8.self)) }
                                }
                            } catch RecipeError.timedOut {
                                continue
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let all = consumed.withLock { $0 }
            #expect(all.count == 40 && Set(all).count == 40, "each once: \(all.count)")
            for producer in ["0", "1"] {
                let order = all.filter { $0.hasPrefix(producer + "-") }.compactMap { Int($0.split(separator: "-")[1]) }
                #expect(order.count == 20, "producer \(producer): \(order)")
            }
            #expect(try await DistributedQueue(client: clients[0], path: "/queues/q").count() == 0)
        }
    }

    @Test(
        "queue: a put whose reply was lost is queued once; an item whose consumer's session expires mid-work goes to another; items survive a restart in order"
    )
    func queueFaults() async throws {
        try await faults.withClient(sessionTimeout: .seconds(2), dropping: createReply(under: "/queues/f/items")) {
            client, proxy in
            let queue = DistributedQueue(client: client, path: "/queues/f")
            try await queue.put(Array("a".utf8))
            proxy.arm()
            try await queue.put(Array("b".utf8))
            #expect(proxy.dropped == 1)
            #expect(try await queue.count() == 2, "b once")
            try faults.restartServer()
            let working = Task {
                try await queue.consume { _ in try await Task.sleep(for: .seconds(60)) }
            }
            try await Task.sleep(for: .milliseconds(300))
            try await faults.withClients(1) { others in
                let other = DistributedQueue(client: others[0], path: "/queues/f")
                #expect(try await other.take(timeout: .seconds(5)) == Array("b".utf8), "a is locked: b comes first")
                try await faults.expireSession(of: client, through: proxy)
                #expect(try await other.take(timeout: .seconds(10)) == Array("a".utf8), "a again, its lock gone")
                #expect(try await other.count() == 0)
            }
            working.cancel()
        }
    }

    @Test("leader selector: terms never overlap, every participant leads in turn, who leads is seen by a non-candidate")
    func leaderSelector() async throws {
        try await faults.withClients(4) { clients in
            let occupancy = Occupancy()
            let terms = Locked<[String]>([])
            let selectors = clients.prefix(3).enumerated().map { index, client in
                LeaderSelector(client: client, path: "/leaders/s", participant: "p\(index)")
            }
            let running = selectors.map { selector in
                Task {
                    try await selector.run {
                        occupancy.enter()
                        terms.withLock { $0.append(selector.participant) }
                        try await Task.sleep(for: .milliseconds(100))
                        occupancy.leave()
                    }
                }
            }
            try await waitUntil { terms.withLock { Set($0).count == 3 && $0.count >= 6 } }
            #expect(occupancy.most == 1, "one leader at a time")
            let leader = try await LeaderSelector.leader(at: "/leaders/s", client: clients[3])
            #expect(["p0", "p1", "p2"].contains(leader ?? ""), "\(String(describing: leader))")
            for task in running { task.cancel() }
        }
    }

    @Test(
        "leader selector: a leader whose session expires has its term cancelled and another leads; a lost lock reply still leads; a restart keeps the term"
    )
    func leaderSelectorFaults() async throws {
        let cancelled = Occupancy()
        let leading = Locked<String?>(nil)
        try await faults.withClient(sessionTimeout: .seconds(2), dropping: createReply(under: "/leaders/f")) {
            client, proxy in
            try await client.createParents("/leaders/f")
            proxy.arm()
            let first = Task {
                try await LeaderSelector(client: client, path: "/leaders/f", participant: "a").run {
                    leading.withLock { $0 = "a" }
                    do {
                        try await Task.sleep(for: .seconds(60))
                    } catch {
                        cancelled.enter()
                        throw error
                    }
                }
            }
            try await waitUntil { leading.withLock { $0 } == "a" }
            #expect(proxy.dropped == 1)
            #expect(try await client.children("/leaders/f").count == 1)
            try await faults.withClients(1) { others in
                let second = Task {
                    try await LeaderSelector(client: others[0], path: "/leaders/f", participant: "b").run {
                        leading.withLock { $0 = "b" }
                        try await Task.sleep(for: .seconds(60))
                    }
                }
                try await faults.expireSession(of: client, through: proxy)
                try await waitUntil { leading.withLock { $0 } == "b" }
                #expect(cancelled.now == 1, "a's term was cancelled")
                first.cancel()
                second.cancel()
            }
        }
        try await faults.withClient { client, _ in
            let terms = Occupancy()
            let running = Task {
                try await LeaderSelector(
                    client: client, path: "/leaders/r", participant: "c", suspendedGrace: .seconds(20)
                )
                .run {
                    terms.enter()
                    try await Task.sleep(for: .seconds(60))
                }
            }
            try await waitUntil { terms.now == 1 }
            try faults.restartServer()
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await client.children("/leaders/r").count == 1)
            #expect(terms.now == 1, "one term, not ended by the restart within the grace")
            running.cancel()
        }
    }
}

@Suite("Curator's catalogue against the real server: caches, persistent ephemeral node, group membership")
struct CacheTests {
    let faults: RecipeFaults

    init() throws { faults = try RecipeFaults() }

    @Test(
        "node cache: follows a node created, changed and deleted, with changes made while cut off, across expiry and restart"
    )
    func nodeCache() async throws {
        try await faults.withClient(sessionTimeout: .seconds(2)) { client, proxy in
            let cache = NodeCache(client: client, path: "/cfg/n")
            let running = Task { try await cache.run() }
            defer { running.cancel() }
            try await faults.withClients(1) { others in
                let writer = others[0]
                try await writer.createParents("/cfg")
                try await writer.create("/cfg/n", data: Array("1".utf8))
                try await waitUntil { cache.current?.text == "1" }
                proxy.partition()
                try await writer.set("/cfg/n", data: Array("2".utf8))
                proxy.heal()
                try await waitUntil("the change made while cut off") { cache.current?.text == "2" }
                try await faults.expireSession(of: client, through: proxy)
                try await writer.set("/cfg/n", data: Array("3".utf8))
                try await waitUntil("after the expiry") { cache.current?.text == "3" }
            }
            try faults.restartServer()
            try await faults.withClients(1) { others in
                try await others[0].set("/cfg/n", data: Array("4".utf8))
                try await waitUntil("after the restart") { cache.current?.text == "4" }
                try await others[0].delete("/cfg/n")
                try await waitUntil { cache.current == nil }
            }
        }
    }

    @Test(
        "tree cache: mirrors a subtree exactly through three rounds of 50 changes: while connected, cut off, across a session expiry and a server restart"
    )
    func treeCache() async throws {
        try await faults.withClient(sessionTimeout: .seconds(2)) { client, proxy in
            try await faults.withClients(1) { others in
                let writer = others[0]
                try await writer.createParents("/tree/a/b")
                let cache = TreeCache(client: client, root: "/tree")
                let running = Task { try await cache.run() }
                defer { running.cancel() }
                func churn(_ round: Int) async throws {
                    for i in 0..<50 {
                        let path = "/tree/a/n\(i % 7)"
                        if try await writer.exists(path) == nil {
                            try await writer.create(path, data: Array("\(round)-\(i)".utf8))
                            try await writer.create(path + "/leaf", data: [UInt8(i)])
                        } else if i % 3 == 0 {
                            try await writer.delete(path + "/leaf")
                            try await writer.delete(path)
                        } else {
                            try await writer.set(path, data: Array("\(round)-\(i)".utf8))
                        }
                    }
                }
                func mirrored() async throws -> Bool {
                    let truth = try await tree(at: "/tree", writer)
                    let mine = cache.nodes.mapValues(\.data)
                    return mine == truth
                }
                try await churn(0)
                try await waitUntil("mirrored") { try await mirrored() }
                proxy.partition()
                try await churn(1)
                proxy.heal()
                try await waitUntil("mirrored after being cut off") { try await mirrored() }
                try await faults.expireSession(of: client, through: proxy)
                try await churn(2)
                try await waitUntil("mirrored after the expiry") { try await mirrored() }
                #expect(cache.children(of: "/tree") == ["a"])
            }
            try faults.restartServer()
            try await faults.withClients(1) { others in
                try await others[0].create("/tree/after", data: Array("restart".utf8))
                try await others[0].delete("/tree/a/b")
                let truth = try await tree(at: "/tree", others[0])
                let cache = TreeCache(client: client, root: "/tree")
                let fresh = Task { try await cache.run() }
                defer { fresh.cancel() }
                try await waitUntil("a new cache after the restart") { cache.nodes.mapValues(\.data) == truth }
            }
        }
    }

    @Test("tree cache: changes made right after a server restart, before the cache's client is back, are not missed")
    func treeCacheRestart() async throws {
        try await faults.withClient { client, proxy in
            try await client.createParents("/live")
            let cache = TreeCache(client: client, root: "/live")
            let running = Task { try await cache.run() }
            defer { running.cancel() }
            try await waitUntil { cache.node(at: "/live") != nil }
            proxy.partition()
            try faults.restartServer()
            try await faults.withClients(1) { others in
                for i in 0..<20 { try await others[0].create("/live/n\(i)", data: [UInt8(i)]) }
                try await others[0].delete("/live/n3")
                proxy.heal()
                let truth = try await tree(at: "/live", others[0])
                try await waitUntil("replayed with since_zxid") { cache.nodes.mapValues(\.data) == truth }
            }
        }
    }

    @Test(
        "persistent ephemeral node: made again when deleted and after a session expiry; one node after a lost create reply; kept across a restart; deleted when stopped"
    )
    func persistentEphemeralNode() async throws {
        try await faults.withClient(sessionTimeout: .seconds(2), dropping: createReply(under: "/members")) {
            client, proxy in
            try await client.createParents("/members")
            proxy.arm()
            let node = PersistentEphemeralNode(client: client, path: "/members/me", data: Array("v1".utf8))
            let running = Task { try await node.run() }
            try await faults.withClients(1) { others in
                let observer = others[0]
                try await waitUntil { try await observer.exists("/members/me") != nil }
                #expect(proxy.dropped == 1)
                try await observer.delete("/members/me")
                try await waitUntil("made again after a delete") { try await observer.exists("/members/me") != nil }
                try await node.setData(Array("v2".utf8))
                let before = try #require(try await observer.exists("/members/me")?.ephemeralOwner)
                try await faults.expireSession(of: client, through: proxy)
                try await waitUntil("made again by the new session") {
                    let owner = try await observer.exists("/members/me")?.ephemeralOwner
                    return owner != nil && owner != before
                }
                #expect(try await observer.get("/members/me").text == "v2", "with its latest data")
            }
            try faults.restartServer()
            try await faults.withClients(1) { others in
                try await Task.sleep(for: .milliseconds(300))
                #expect(try await others[0].exists("/members/me") != nil, "kept across the restart")
                running.cancel()
                _ = try? await running.value
                #expect(try await others[0].exists("/members/me") == nil, "deleted when stopped")
            }
        }
    }

    @Test("group membership: members see each other join, change and leave, and a member whose session expires is back")
    func groupMembership() async throws {
        try await faults.withClient(sessionTimeout: .seconds(2)) { client, proxy in
            try await faults.withClients(2) { others in
                let members = [client, others[0], others[1]].enumerated().map { index, member in
                    GroupMember(client: member, path: "/groups/g", id: "m\(index)", data: Array("\(index)".utf8))
                }
                let running = members.map { member in Task { try await member.run() } }
                try await waitUntil("all see all") { members.allSatisfy { $0.members.count == 3 } }
                try await members[1].setData(Array("changed".utf8))
                try await waitUntil { members[2].members["m1"] == Array("changed".utf8) }
                try await faults.expireSession(of: client, through: proxy)
                try await waitUntil("back after the expiry") {
                    try await GroupMember.members(at: "/groups/g", client: others[0]).count == 3
                }
                running[2].cancel()
                try await waitUntil("a member left") { members[1].members.keys.sorted() == ["m0", "m1"] }
                try faults.restartServer()
                try await waitUntil("after a restart") {
                    try await GroupMember.members(at: "/groups/g", client: others[0]).keys.sorted() == ["m0", "m1"]
                }
                for task in running { task.cancel() }
            }
        }
    }
}
