import Cairn
import CairnRecipes
import CairnTesting
import Foundation
import Testing

@Suite("Discovery with Curator (Debian's libcurator-discovery-java 5.4) through the ZooKeeper port")
struct CuratorInteropTests {
    @Test("a Java service registered with Curator and Swift services registered here find each other")
    func curatorFindsSwiftAndSwiftFindsCurator() async throws {
        let directory = TemporaryDirectory("cairn-curator")
        let server = try ServerProcess(
            dataDirectory: directory.appending("data"), arguments: ["--zk-listen", "127.0.0.1:0"])
        try await CairnClient.withClient(clientConfiguration(server)) { client in
            let registry = ServiceRegistry(client: client)
            let up = try await registry.register(
                "web",
                ServiceInstance(
                    address: "10.1.2.3", port: 8000, metadata: ["zone": "swift"], tags: ["v2"], weight: 3,
                    uriSpec: "{scheme}://{address}:{port}/api"))
            let down = try await registry.register("web", ServiceInstance(address: "10.1.2.4", port: 8000))
            try await down.markDown()
            let java = try ChildProcess(
                "/usr/bin/java",
                [
                    "-cp", curatorClassPath, "tools/curator/Interop.java", "127.0.0.1:\(server.zooKeeperPort!)", "web",
                    "10.1.2.", "1",
                ])
            defer { java.kill() }
            #expect(
                java.waitForOutput(seconds: 60) { $0.contains { $0.hasPrefix("names") } },
                "\(java.errorOutput.suffix(2000))")
            let found = java.output.filter { $0.hasPrefix("found") }
            #expect(
                found.contains(
                    "found web \(up.instance.id) 10.1.2.3 8000 enabled=true metadata={zone=swift} tags=[v2] weight=3 uri=http://10.1.2.3:8000/api"
                ), "\(java.output)")
            #expect(
                !found.contains { $0.contains(down.instance.id) }, "the instance marked down is not listed by Curator")
            #expect(java.output.contains("names [web]"))
            let registered = try #require(java.output.first { $0.hasPrefix("registered") }?.split(separator: " ").last)
            let javaInstance = try #require(
                try await registry.discover("web").first { $0.id == registered }, "Swift discovers Curator's instance")
            #expect(javaInstance.address == "10.9.9.9" && javaInstance.port == 9090 && javaInstance.name == "web")
            #expect(javaInstance.metadata == ["zone": "java"], "the string entries of its payload map")
            #expect(javaInstance.uri() == "http://10.9.9.9:9090")
        }
    }
}

/// Curator's jars and what they need, as Debian installs them (tools/setup).
let curatorClassPath = [
    "curator-client", "curator-framework", "curator-recipes", "curator-x-discovery", "zookeeper", "zookeeper-jute",
    "jackson-core", "jackson-databind", "jackson-annotations", "guava", "slf4j-api",
].map { "/usr/share/java/\($0).jar" }.joined(separator: ":")

@Suite("Recipes beside Curator's (Debian's libcurator-recipes-java 5.4) on the same paths, through the ZooKeeper port")
struct CuratorRecipeInteropTests {
    let directory = TemporaryDirectory("cairn-curator-recipes")
    let server: ServerProcess

    init() throws {
        server = try ServerProcess(
            dataDirectory: directory.appending("data"), arguments: ["--zk-listen", "127.0.0.1:0"])
    }

    /// Curator taking part in `recipe` on `path`, holding what it gets for `holdMs`.
    func curator(_ recipe: String, _ path: String, holdMs: Int) throws -> ChildProcess {
        try ChildProcess(
            "/usr/bin/java",
            [
                "-cp", curatorClassPath, "tools/curator/Recipes.java", "127.0.0.1:\(server.zooKeeperPort!)", recipe,
                path,
                "\(holdMs)",
            ])
    }

    /// A Swift holder of `take`'s lock excludes Curator's, and Curator's holder excludes `tryTake`.
    func excludeEachOther(
        _ recipe: String, _ path: String, take: () async throws -> Void, release: () async -> Void,
        tryTake: (Duration) async throws -> Void
    ) async throws {
        try await take()
        let java = try curator(recipe, path, holdMs: 1500)
        defer { java.kill() }
        #expect(java.waitForOutput(seconds: 30) { $0.contains("connected") })
        try await Task.sleep(for: .milliseconds(700))
        #expect(!java.output.contains("acquired"), "Curator waits while Swift holds: \(java.output)")
        await release()
        #expect(java.waitForOutput(seconds: 10) { $0.contains("acquired") }, "\(java.errorOutput.suffix(1500))")
        await #expect(throws: RecipeError.timedOut) { try await tryTake(.milliseconds(300)) }
        #expect(java.waitForOutput(seconds: 10) { $0.contains("released") })
        try await tryTake(.seconds(10))
    }

    @Test("DistributedLock and Curator's InterProcessMutex on one path exclude each other")
    func mutex() async throws {
        try await CairnClient.withClient(clientConfiguration(server)) { client in
            let lock = DistributedLock(client: client, path: "/interop/mutex")
            try await excludeEachOther(
                "mutex", "/interop/mutex", take: { try await lock.acquire() }, release: { await lock.release() },
                tryTake: { try await lock.acquire(timeout: $0) })
            await lock.release()
        }
    }

    @Test(
        "ReadWriteLock and Curator's InterProcessReadWriteLock: writers exclude each other, a Swift writer excludes a Curator reader"
    )
    func readWriteLock() async throws {
        try await CairnClient.withClient(clientConfiguration(server)) { client in
            let lock = ReadWriteLock(client: client, path: "/interop/rw")
            try await excludeEachOther(
                "write", "/interop/rw", take: { try await lock.writeLock.acquire() },
                release: { await lock.writeLock.release() }, tryTake: { try await lock.writeLock.acquire(timeout: $0) })
            await lock.writeLock.release()
            try await excludeEachOther(
                "read", "/interop/rw", take: { try await lock.writeLock.acquire() },
                release: { await lock.writeLock.release() }, tryTake: { try await lock.writeLock.acquire(timeout: $0) })
            await lock.writeLock.release()
        }
    }

    @Test("CountingSemaphore and Curator's InterProcessSemaphoreV2 share one lease")
    func semaphore() async throws {
        try await CairnClient.withClient(clientConfiguration(server)) { client in
            let semaphore = CountingSemaphore(client: client, path: "/interop/sem", maxLeases: 1)
            let lease = Locked<CountingSemaphore.Lease?>(nil)
            try await excludeEachOther(
                "semaphore", "/interop/sem",
                take: {
                    let got = try await semaphore.acquire()
                    lease.withLock { $0 = got }
                },
                release: { if let held = lease.withLock({ $0 }) { await semaphore.release(held) } },
                tryTake: {
                    let got = try await semaphore.acquire(timeout: $0)
                    lease.withLock { $0 = got }
                })
            if let held = lease.withLock({ $0 }) { await semaphore.release(held) }
        }
    }

    @Test("LeaderElection and Curator's LeaderLatch on one path: one leader, seen alike by both")
    func latch() async throws {
        try await CairnClient.withClient(clientConfiguration(server)) { client in
            let java = try curator("latch", "/interop/latch", holdMs: 1500)
            defer { java.kill() }
            #expect(java.waitForOutput(seconds: 30) { $0.contains("leader") }, "\(java.errorOutput.suffix(1500))")
            #expect(try await LeaderElection.leader(at: "/interop/latch", client: client) == "java")
            let election = LeaderElection(client: client, path: "/interop/latch", candidate: "swift")
            let running = Task { try await election.run() }
            defer { running.cancel() }
            try await Task.sleep(for: .milliseconds(500))
            #expect(!election.isLeader, "Curator's latch leads")
            #expect(java.waitForOutput(seconds: 10) { $0.contains("closed") })
            try await waitUntil("Swift leads once the latch closes") { election.isLeader }
            #expect(try await LeaderElection.leader(at: "/interop/latch", client: client) == "swift")
        }
    }
}
