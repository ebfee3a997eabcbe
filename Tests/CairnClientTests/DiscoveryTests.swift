import Cairn
import CairnRecipes
import CairnTesting
import Foundation
import Synchronization
import Testing

@Suite("Service discovery against the real server: registry, cache, provider, health checks")
struct DiscoveryTests {
    let directory = TemporaryDirectory("cairn-discovery")
    let server: ServerProcess

    init() throws { server = try ServerProcess(dataDirectory: directory.appending("data")) }

    /// Runs `body` with clients that are running, and closes them after.
    func withClients(
        _ count: Int, _ body: @escaping @Sendable ([CairnClient]) async throws -> Void
    ) async throws {
        let configuration = clientConfiguration(server)
        let clients = (0..<count).map { _ in CairnClient(configuration: configuration) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in clients { group.addTask { try await client.run() } }
            try await body(clients)
            for client in clients { await client.close() }
            group.cancelAll()
        }
    }

    @Test("the connection drops after the server made the instance's node, before its reply: listed once, by its id")
    func registryLostReply() async throws {
        let proxy = try DroppingProxy(to: server.port) { line in
            line.contains(#""op":"create""#) && line.contains(#""path":"/services/p/"#)
        }
        var configuration = clientConfiguration(server)
        configuration.addresses = [CairnClient.Address(host: "127.0.0.1", port: proxy.port)]
        try await CairnClient.withClient(configuration) { client in
            try await client.createParents("/services/p")
            proxy.arm()
            let registry = ServiceRegistry(client: client)
            let registration = try await registry.register("p", ServiceInstance(address: "10.0.0.9", port: 80))
            #expect(proxy.dropped == 1)
            #expect(try await client.children("/services/p") == [registration.instance.id])
            let found = try await registry.discover("p")
            #expect(found.map(\.address) == ["10.0.0.9"], "registered once, not listed twice")
            try await registration.withdraw()
            #expect(try await registry.discover("p").isEmpty)
        }
    }

    @Test("the cached view follows instances appearing, marked down and up, and their sessions ending")
    func cacheFollows() async throws {
        try await withClients(3) { clients in
            let (a, b, watcher) = (clients[0], clients[1], clients[2])
            let cache = ServiceCache(registry: ServiceRegistry(client: watcher), service: "web")
            let running = Task { try await cache.run() }
            defer { running.cancel() }
            let provider = ServiceProvider(cache: cache)
            let ra = try await ServiceRegistry(client: a).register(
                "web", ServiceInstance(address: "10.0.0.1", port: 80))
            _ = try await ServiceRegistry(client: b).register("web", ServiceInstance(address: "10.0.0.2", port: 80))
            try await waitUntil { cache.instances.count == 2 }
            #expect(
                Set((0..<4).compactMap { _ in provider.instance()?.address }) == ["10.0.0.1", "10.0.0.2"],
                "round robin uses both")
            try await ra.markDown()
            try await waitUntil { cache.instances.map(\.address) == ["10.0.0.2"] }
            #expect(try await ServiceRegistry(client: watcher).discover("web").map(\.address) == ["10.0.0.2"])
            try await ra.markUp()
            try await waitUntil { cache.instances.count == 2 }
            await b.close()  // its session ends: its instance goes
            try await waitUntil { cache.instances.map(\.address) == ["10.0.0.1"] }
            try await ra.withdraw()
            try await waitUntil { cache.instances.isEmpty }
            #expect(provider.instance() == nil)
        }
    }

    @Test("service names are listed; an instance's metadata is updated in place (same node, next version)")
    func namesAndUpdates() async throws {
        try await withClients(2) { clients in
            let registry = ServiceRegistry(client: clients[0])
            #expect(try await registry.serviceNames().isEmpty)
            let web = try await registry.register(
                "web", ServiceInstance(address: "10.0.0.1", port: 80, metadata: ["version": "1"]))
            _ = try await registry.register("db", ServiceInstance(address: "10.0.0.5", port: 5432))
            #expect(Set(try await ServiceRegistry(client: clients[1]).serviceNames()) == ["web", "db"])
            let before = try #require(try await clients[1].exists(web.path))
            let cache = ServiceCache(registry: ServiceRegistry(client: clients[1]), service: "web")
            let running = Task { try await cache.run() }
            defer { running.cancel() }
            try await waitUntil { cache.instances.first?.metadata["version"] == "1" }
            try await web.update {
                $0.metadata["version"] = "2"
                $0.tags = ["canary"]
                $0.id = "not-changed"
            }
            try await waitUntil { cache.instances.first?.metadata["version"] == "2" }
            let seen = try #require(cache.instances.first)
            #expect(seen.tags == ["canary"] && seen.id == web.instance.id && seen.name == "web")
            let after = try #require(try await clients[1].exists(web.path))
            #expect(after.czxid == before.czxid && after.version == before.version + 1, "the same node, updated")
        }
    }

    @Test("a provider chooses only instances passing its filters and not reported down by callers")
    func providerFiltersAndDownInstances() async throws {
        try await withClients(1) { clients in
            let registry = ServiceRegistry(client: clients[0])
            for (address, zone, tags) in [("10.0.0.1", "a", ["v2"]), ("10.0.0.2", "a", []), ("10.0.0.3", "b", ["v2"])] {
                _ = try await registry.register(
                    "web", ServiceInstance(address: address, port: 80, metadata: ["zone": zone], tags: Set(tags)))
            }
            let cache = ServiceCache(registry: registry, service: "web")
            let running = Task { try await cache.run() }
            defer { running.cancel() }
            try await waitUntil { cache.instances.count == 3 }
            let zoneA = ServiceProvider(cache: cache, filters: [.metadata("zone", "a"), .tag("v2")])
            #expect(Set((0..<6).compactMap { _ in zoneA.instance()?.address }) == ["10.0.0.1"])
            let provider = ServiceProvider(
                cache: cache, strategy: .roundRobin, downInstancePolicy: DownInstancePolicy(errorThreshold: 2))
            let failing = try #require(cache.instances.first { $0.address == "10.0.0.2" })
            provider.noteError(failing)
            #expect(provider.candidates.count == 3, "one error is under the threshold")
            provider.noteError(failing)
            #expect(Set(provider.candidates.map(\.address)) == ["10.0.0.1", "10.0.0.3"])
            #expect(Set((0..<6).compactMap { _ in provider.instance()?.address }) == ["10.0.0.1", "10.0.0.3"])
        }
    }

    @Test(
        "a health-checked registration marks its instance down after N failed checks, up after M passes, and withdraws it when stopped"
    )
    func healthChecked() async throws {
        try await withClients(2) { clients in
            let healthy = Atomic<Bool>(true)
            let checked = HealthCheckedRegistration(
                registry: ServiceRegistry(client: clients[0]), service: "api",
                instance: ServiceInstance(address: "10.0.0.7", port: 8080),
                check: .custom { healthy.load(ordering: .relaxed) }, interval: .milliseconds(100),
                timeout: .milliseconds(500), failuresBeforeDown: 3, successesBeforeUp: 2)
            let registered = Task { try await checked.run() }
            let cache = ServiceCache(registry: ServiceRegistry(client: clients[1]), service: "api")
            let caching = Task { try await cache.run() }
            defer { caching.cancel() }
            try await waitUntil { cache.instances.count == 1 }
            healthy.store(false, ordering: .relaxed)
            let failedAt = ContinuousClock.now
            try await waitUntil("marked down") { cache.instances.isEmpty }
            let downAfter = ContinuousClock.now - failedAt
            // 3 checks 100 ms apart, each within 500 ms, plus the watch: documented as interval x N + timeout.
            #expect(downAfter < .milliseconds(300 + 500 + 500), "down after \(downAfter)")
            #expect(downAfter >= .milliseconds(200), "not before the third failure: \(downAfter)")
            let listed = try await ServiceRegistry(client: clients[1]).instances(of: "api")
            #expect(listed.map(\.enabled) == [false], "still registered, marked down")
            healthy.store(true, ordering: .relaxed)
            try await waitUntil("marked up") { cache.instances.count == 1 }
            registered.cancel()
            _ = try await registered.value
            #expect(try await ServiceRegistry(client: clients[1]).instances(of: "api").isEmpty, "withdrawn")
        }
    }

    @Test("a custom check that hangs fails by its timeout; an HTTP check of a closed port fails; a TCP check passes")
    func checkKinds() async throws {
        let hangs = HealthCheck.custom {
            try await Task.sleep(for: .seconds(30))
            return true
        }
        let started = ContinuousClock.now
        #expect(await hangs.outcome(timeout: .milliseconds(200)) != nil)
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(await HealthCheck.tcp(host: "127.0.0.1", port: server.port).outcome(timeout: .seconds(2)) == nil)
        let closed = closedPort()
        #expect(await HealthCheck.tcp(host: "127.0.0.1", port: closed).outcome(timeout: .seconds(2)) != nil)
        #expect(await HealthCheck.http("http://127.0.0.1:\(closed)/health").outcome(timeout: .seconds(2)) != nil)
        #expect(
            await HealthCheck.http("http://127.0.0.1:\(server.adminPort!)/healthz").outcome(timeout: .seconds(2)) == nil
        )
        #expect(
            await HealthCheck.http("http://127.0.0.1:\(server.adminPort!)/nothing").outcome(timeout: .seconds(2))
                == "HTTP 404")
    }

    @Test("the server is SIGKILLed and restarted: the instance is still listed and the cache still follows changes")
    func serverRestart() async throws {
        let data = directory.appending("restart")
        var server = try ServerProcess(dataDirectory: data)
        let client = CairnClient(configuration: clientConfiguration(server))
        let registry = ServiceRegistry(client: client)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            group.addTask { try await registry.run() }
            let registration = try await registry.register("web", ServiceInstance(address: "10.2.2.2", port: 80))
            let cache = ServiceCache(registry: registry, service: "web")
            group.addTask { try await cache.run() }
            try await waitUntil { cache.instances.count == 1 }
            server.kill()
            server = try ServerProcess(dataDirectory: data, port: server.port)
            try await waitUntil("reconnected") { (try? await client.exists(registration.path)) != nil }
            #expect(
                try await registry.discover("web").map(\.address) == ["10.2.2.2"], "the session and its node survived")
            try await registration.markDown()
            try await waitUntil("the cache saw the change after the restart") { cache.instances.isEmpty }
            await client.close()
            group.cancelAll()
        }
        withExtendedLifetime(server) {}
    }

    @Test(
        "fleet demo: of three health-checked instances, the one made unhealthy leaves the client's view in time and the client balances over the rest"
    )
    func fleetDemo() throws {
        let demo = BuiltProducts.path(of: "fleet-demo")
        let port = "\(server.port)"
        let instances = try ["a", "b", "c"].map { name in
            try ChildProcess(demo, ["instance", "--port", port, "--name", name, "--check-interval-ms", "200"])
        }
        for instance in instances {
            #expect(instance.waitForOutput(seconds: 20) { $0.contains { $0.hasPrefix("registered") } })
        }
        let servingPort = { (p: ChildProcess) in
            p.output.first { $0.hasPrefix("registered") }!.split(separator: " ").last.map(String.init)!
        }
        let ports = instances.map(servingPort)
        let client = try ChildProcess(demo, ["client", "--port", port, "--calls", "150", "--interval-ms", "50"])
        #expect(
            client.waitForOutput(seconds: 20) { lines in
                ports.allSatisfy { p in lines.contains { $0.hasPrefix("called \(p): hello") } }
            }, "calls are balanced over all three: \(client.output.suffix(5))")
        #expect(try AdminHTTP(port: Int(ports[1])!).get("/sick").status == 200)
        let sickAt = Date()
        let rest = [ports[0], ports[2]].sorted().joined(separator: " ")
        #expect(client.waitForOutput(seconds: 10) { $0.contains("instances \(rest)") }, "\(client.output.suffix(5))")
        // Two failed checks 200 ms apart (README: interval x failures + timeout, plus the watch).
        #expect(Date().timeIntervalSince(sickAt) < 0.4 + 1.0 + 0.5)
        let marker = client.output.count
        _ = client.waitForOutput(seconds: 2) { $0.count >= marker + 20 }
        let later = client.output.dropFirst(marker)
        #expect(!later.contains { $0.hasPrefix("called \(ports[1])") }, "no longer chosen")
        #expect([ports[0], ports[2]].allSatisfy { p in later.contains { $0.hasPrefix("called \(p): hello") } })
        instances[0].kill(signal: SIGTERM)
        let stoppedAt = Date()
        #expect(client.waitForOutput(seconds: 10) { $0.contains("instances \(ports[2])") }, "withdrawn on SIGTERM")
        #expect(Date().timeIntervalSince(stoppedAt) < 1.5, "at once, not after the 2 s session timeout")
        client.kill()
        for instance in instances { instance.kill() }
    }
}

@Suite("Discovery across a session expiry")
struct DiscoveryExpiryTests {
    @Test("an instance whose session expired is registered again, and the client is told expired then connected")
    func reRegistersAfterExpiry() async throws {
        let directory = TemporaryDirectory("cairn-expiry")
        let data = directory.appending("data")
        var server = try ServerProcess(dataDirectory: data)
        let port = server.port
        var configuration = clientConfiguration(server, sessionTimeout: .seconds(1))
        configuration.maxBackoff = .milliseconds(200)
        let client = CairnClient(configuration: configuration)
        let registry = ServiceRegistry(client: client)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            group.addTask { try await registry.run() }
            let registration = try await registry.register("web", ServiceInstance(address: "10.1.1.1", port: 80))
            let firstSession = try #require(client.sessionID)
            let states = client.states()
            // The server dies, and comes back where the client cannot reach it long enough for the session to
            // expire there (its timeout plus the one-timeout grace); then it returns on its own port.
            server.kill()
            let hidden = try ServerProcess(dataDirectory: data)
            let probe = try hidden.client()
            try probe.connect()
            for _ in 0..<100 {
                if try probe.call(["op": "exists", "path": registration.path])["stat"] is NSNull { break }
                usleep(50_000)
            }
            #expect(
                try probe.call(["op": "exists", "path": registration.path])["stat"] is NSNull,
                "the session expired while away")
            hidden.stop()
            server = try ServerProcess(dataDirectory: data, port: port)
            var seen: [ConnectionState] = []
            for await state in states {
                seen.append(state)
                if state == .connected { break }
            }
            #expect(seen.suffix(2) == [.expired, .connected])
            try await waitUntil("registered again") {
                let owner = try await client.exists(registration.path)?.ephemeralOwner?.hex
                return owner != nil && owner == client.sessionID && owner != firstSession
            }
            let instances = try await registry.discover("web")
            #expect(instances.map(\.address) == ["10.1.1.1"])
            #expect(instances.first?.id == registration.instance.id)
            await client.close()
            group.cancelAll()
        }
        withExtendedLifetime(server) {}
    }
}

/// A loopback port nothing listens on: bound, read, and closed again.
func closedPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(fd, pointer, length)
            return getsockname(fd, pointer, &length)
        }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}
