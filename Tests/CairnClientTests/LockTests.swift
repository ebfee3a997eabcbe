import Cairn
import CairnRecipes
import CairnTesting
import Foundation
import Synchronization
import Testing

/// The highest number of holders seen at once, counted by the holders themselves.
final class Occupancy: Sendable {
    private let state = Mutex<(now: Int, most: Int)>((0, 0))
    var most: Int { state.withLock { $0.most } }
    var now: Int { state.withLock { $0.now } }

    func enter() {
        state.withLock { s in
            s.now += 1
            s.most = max(s.most, s.now)
        }
    }

    func leave() { state.withLock { $0.now -= 1 } }
}

@Suite(
    "Locks against the real server: read-write lock, semaphore, and the mutex across expiry and restart; cancelled waits"
)
struct LockTests {
    let faults: RecipeFaults

    init() throws { faults = try RecipeFaults() }

    @Test("read-write lock: readers share it, a writer holds it alone, and a writer in line goes before later readers")
    func readWriteLock() async throws {
        try await faults.withClients(4) { clients in
            let locks = clients.map { ReadWriteLock(client: $0, name: "rw") }
            for lock in locks.prefix(3) { try await lock.readLock.acquire(timeout: .seconds(5)) }
            let writer = Task { try await locks[3].writeLock.acquire(timeout: .seconds(10)) }
            try await Task.sleep(for: .milliseconds(200))
            // A reader arriving after the waiting writer waits behind it.
            let lateReader = ReadWriteLock(client: clients[0], name: "rw").readLock
            await #expect(throws: RecipeError.timedOut) { try await lateReader.acquire(timeout: .milliseconds(300)) }
            for lock in locks.prefix(3) { await lock.readLock.release() }
            try await writer.value
            await #expect(throws: RecipeError.timedOut) {
                try await locks[0].readLock.acquire(timeout: .milliseconds(300))
            }
            #expect(try await clients[0].children("/locks/rw").count == 1, "the timed-out readers left the line")
            let reader = Task { try await locks[1].readLock.acquire(timeout: .seconds(10)) }
            await locks[3].writeLock.release()
            try await reader.value
            await locks[1].readLock.release()
        }
    }

    @Test("read-write lock: a reader whose session expires loses the lock, and the waiting writer gets it")
    func readWriteLockExpiry() async throws {
        try await faults.withClient(sessionTimeout: .seconds(2)) { client, proxy in
            let reader = ReadWriteLock(client: client, name: "rwx").readLock
            try await reader.acquire()
            let loss = Task { await reader.lost() }
            try await faults.withClients(1) { others in
                let writer = Task { try await ReadWriteLock(client: others[0], name: "rwx").writeLock.acquire() }
                try await faults.expireSession(of: client, through: proxy)
                try await writer.value
                let told = await loss.value
                #expect(
                    told == .sessionExpired || told == .nodeDeleted || told == .suspended,
                    "told: \(String(describing: told))")
            }
        }
    }

    @Test(
        "read-write lock: the connection drops after the server made the writer's node, before its reply: one node, held"
    )
    func readWriteLockLostReply() async throws {
        try await faults.withClient(dropping: createReply(under: "/locks/rwp")) { client, proxy in
            try await client.createParents("/locks/rwp")
            proxy.arm()
            let writer = ReadWriteLock(client: client, name: "rwp").writeLock
            try await writer.acquire(timeout: .seconds(10))
            #expect(proxy.dropped == 1)
            let nodes = try await client.children("/locks/rwp")
            #expect(nodes.count == 1 && nodes[0].contains("__WRIT__"), "\(nodes)")
            await writer.release()
        }
    }

    @Test("read-write lock: held across a server SIGKILL and restart; the writer waiting gets it after the release")
    func readWriteLockRestart() async throws {
        try await faults.withClient { client, _ in
            let reader = ReadWriteLock(client: client, name: "rwr").readLock
            try await reader.acquire()
            try faults.restartServer()
            try await faults.withClients(1) { others in
                let writer = ReadWriteLock(client: others[0], name: "rwr").writeLock
                await #expect(throws: RecipeError.timedOut) { try await writer.acquire(timeout: .milliseconds(500)) }
                await reader.release()
                try await writer.acquire(timeout: .seconds(10))
                await writer.release()
            }
        }
    }

    @Test("semaphore: 5 clients share 2 leases: never more than 2 holders at once, and every one gets its turn")
    func semaphore() async throws {
        let occupancy = Occupancy()
        let served = Occupancy()
        try await faults.withClients(5) { clients in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in clients {
                    group.addTask {
                        let semaphore = CountingSemaphore(client: client, name: "s", maxLeases: 2)
                        for _ in 0..<3 {
                            try await semaphore.withLease(timeout: .seconds(20)) {
                                occupancy.enter()
                                try await Task.sleep(for: .milliseconds(20))
                                occupancy.leave()
                            }
                            served.enter()
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(served.now == 15)
            #expect(occupancy.most == 2, "at most 2 at once, and both used: \(occupancy.most)")
            #expect(try await clients[0].children("/semaphores/s/leases").isEmpty)
        }
    }

    @Test("semaphore: a holder whose session expires loses its lease, and the waiter gets it")
    func semaphoreExpiry() async throws {
        try await faults.withClient(sessionTimeout: .seconds(2)) { client, proxy in
            _ = try await CountingSemaphore(client: client, name: "sx", maxLeases: 1).acquire()
            try await faults.withClients(1) { others in
                let semaphore = CountingSemaphore(client: others[0], name: "sx", maxLeases: 1)
                let waiter = Task { try await semaphore.acquire(timeout: .seconds(20)) }
                try await faults.expireSession(of: client, through: proxy)
                let lease = try await waiter.value
                await semaphore.release(lease)
            }
        }
    }

    @Test("semaphore: the connection drops after the server made the lease's node, before its reply: one lease, held")
    func semaphoreLostReply() async throws {
        try await faults.withClient(dropping: createReply(under: "/semaphores/sp/leases")) { client, proxy in
            try await client.createParents("/semaphores/sp/leases")
            proxy.arm()
            let semaphore = CountingSemaphore(client: client, name: "sp", maxLeases: 1)
            let lease = try await semaphore.acquire(timeout: .seconds(10))
            #expect(proxy.dropped == 1)
            #expect(try await client.children("/semaphores/sp/leases").count == 1, "found again, not made twice")
            await semaphore.release(lease)
        }
    }

    @Test("semaphore: a lease is kept across a server SIGKILL and restart")
    func semaphoreRestart() async throws {
        try await faults.withClient { client, _ in
            let mine = CountingSemaphore(client: client, name: "sr", maxLeases: 1)
            let lease = try await mine.acquire()
            try faults.restartServer()
            try await faults.withClients(1) { others in
                let semaphore = CountingSemaphore(client: others[0], name: "sr", maxLeases: 1)
                await #expect(throws: RecipeError.timedOut) { try await semaphore.acquire(timeout: .milliseconds(500)) }
                await mine.release(lease)
                await semaphore.release(try await semaphore.acquire(timeout: .seconds(10)))
            }
        }
    }

    @Test("mutex: a holder whose session expires is told, and the waiter gets the lock with a larger fencing token")
    func mutexExpiry() async throws {
        try await faults.withClient(sessionTimeout: .seconds(2)) { client, proxy in
            let holder = DistributedLock(client: client, name: "mx")
            try await holder.acquire()
            let token = try #require(holder.fencingToken)
            let loss = Task { await holder.lost() }
            try await faults.withClients(1) { others in
                let waiter = DistributedLock(client: others[0], name: "mx")
                let acquiring = Task { try await waiter.acquire(timeout: .seconds(20)) }
                try await faults.expireSession(of: client, through: proxy)
                try await acquiring.value
                #expect(try #require(waiter.fencingToken) > token)
                #expect(await loss.value != nil)
                await waiter.release()
            }
        }
    }

    @Test("a waiting semaphore acquire, read lock or double-barrier enter, cancelled, throws and leaves no node behind")
    func cancelledWaits() async throws {
        try await faults.withClients(2) { clients in
            let (holder, waiter) = (clients[0], clients[1])
            let lease = try await CountingSemaphore(client: holder, name: "c", maxLeases: 1).acquire()
            try await ReadWriteLock(client: holder, name: "c").writeLock.acquire()
            let waits: [Task<Void, any Error>] = [
                Task { _ = try await CountingSemaphore(client: waiter, name: "c", maxLeases: 1).acquire() },
                Task { try await ReadWriteLock(client: waiter, name: "c").readLock.acquire() },
                Task { try await DoubleBarrier(client: waiter, path: "/barriers/c", memberCount: 2).enter() },
            ]
            try await waitUntil("all three waiting") {
                let leases = (try? await holder.children("/semaphores/c/leases"))?.count
                let locks = (try? await holder.children("/locks/c"))?.count
                let members = (try? await holder.children("/barriers/c"))?.count
                return leases == 2 && locks == 2 && members == 1
            }
            for wait in waits {
                wait.cancel()
                await #expect(throws: CancellationError.self) { try await wait.value }
            }
            #expect(
                try await holder.children("/semaphores/c/leases") == [String(lease.path.split(separator: "/").last!)])
            #expect(try await holder.children("/semaphores/c/locks").isEmpty, "the turnstile was left too")
            #expect(try await holder.children("/locks/c").count == 1)
            #expect(try await holder.children("/barriers/c").isEmpty)
        }
    }

    @Test("mutex: held across a server SIGKILL and restart")
    func mutexRestart() async throws {
        try await faults.withClient { client, _ in
            let holder = DistributedLock(client: client, name: "mr")
            try await holder.acquire()
            try faults.restartServer()
            try await faults.withClients(1) { others in
                let waiter = DistributedLock(client: others[0], name: "mr")
                await #expect(throws: RecipeError.timedOut) { try await waiter.acquire(timeout: .milliseconds(500)) }
                await holder.release()
                try await waiter.acquire(timeout: .seconds(10))
                await waiter.release()
            }
        }
    }
}
