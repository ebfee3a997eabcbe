import CairnTesting
import Foundation
import Testing

@testable import CairnRecipes

@Suite("Discovery's logic alone: selection, down instances, health tallies, Curator's instance JSON")
struct DiscoveryLogicTests {
    let instances = ["a", "b", "c"].map { ServiceInstance(address: "10.0.0.1", port: 80, id: $0) }

    func draws(_ selector: inout InstanceSelector, _ from: [ServiceInstance], _ count: Int) -> [String] {
        var generator = SplitMix64(seed: 7)
        return (0..<count).map { _ in selector.choose(from: from, using: &generator)!.id }
    }

    @Test("round robin takes each in turn; random reaches all; nothing is chosen from none")
    func roundRobinAndRandom() {
        var turns = InstanceSelector(strategy: .roundRobin)
        #expect(draws(&turns, instances, 6) == ["a", "b", "c", "a", "b", "c"])
        var random = InstanceSelector(strategy: .random)
        #expect(Set(draws(&random, instances, 60)) == ["a", "b", "c"])
        var generator = SplitMix64(seed: 1)
        #expect(turns.choose(from: [], using: &generator) == nil)
    }

    @Test("sticky keeps its instance while it is there, then moves on and sticks to the next")
    func sticky() {
        var selector = InstanceSelector(strategy: .sticky)
        let first = draws(&selector, instances, 5)
        #expect(Set(first).count == 1)
        let rest = instances.filter { $0.id != first[0] }
        let next = draws(&selector, rest, 5)
        #expect(Set(next).count == 1 && next[0] != first[0])
    }

    @Test("weighted chooses in proportion to weight (within 3% over 30000 draws); weight 0 never, while others weigh")
    func weighted() {
        var weighted = instances
        (weighted[0].weight, weighted[1].weight, weighted[2].weight) = (1, 3, 0)
        var selector = InstanceSelector(strategy: .weighted)
        let chosen = draws(&selector, weighted, 30_000)
        let shareOfB = Double(chosen.filter { $0 == "b" }.count) / 30_000
        #expect(abs(shareOfB - 0.75) < 0.03, "b's share: \(shareOfB)")
        #expect(!chosen.contains("c"))
        var allZero = instances
        for index in allZero.indices { allZero[index].weight = 0 }
        #expect(Set(draws(&selector, allZero, 60)) == ["a", "b", "c"], "all weightless: uniform")
    }

    @Test("an instance is down from the threshold's error on, until the timeout after its first error")
    func downInstances() {
        var down = DownInstances(policy: DownInstancePolicy(timeout: .seconds(30), errorThreshold: 2))
        let start = ContinuousClock.now
        down.noteError("a", at: start)
        #expect(!down.isDown("a", at: start + .seconds(1)))
        down.noteError("a", at: start + .seconds(2))
        #expect(down.isDown("a", at: start + .seconds(2)))
        #expect(!down.isDown("b", at: start + .seconds(2)))
        #expect(down.isDown("a", at: start + .seconds(29)))
        #expect(!down.isDown("a", at: start + .seconds(30)), "forgotten 30 s after its first error")
        down.noteError("a", at: start + .seconds(31))
        #expect(!down.isDown("a", at: start + .seconds(31)), "counting starts again")
    }

    @Test("down after N failures in a row, up after M passes in a row; a single result the other way resets the run")
    func healthTally() {
        var tally = HealthTally(failuresBeforeDown: 3, successesBeforeUp: 2)
        let results = [false, false, true, false, false, false, true, false, true, true, true]
        let changes = results.map { tally.record(passed: $0) }
        #expect(changes == [nil, nil, nil, nil, nil, false, nil, nil, nil, true, nil])
        #expect(tally.up)
    }

    @Test("an instance's JSON is Curator's ServiceInstance, and reads back the same")
    func instanceJSON() throws {
        var instance = ServiceInstance(
            address: "10.0.0.4", port: 8080, sslPort: 8443, id: "id-1", metadata: ["zone": "a"], tags: ["v2"],
            weight: 5, uriSpec: "{scheme}://{address}:{ssl-port}/api")
        instance.name = "web"
        instance.registrationTimeUTC = 1_700_000_000_000
        let object = try #require(try JSONSerialization.jsonObject(with: Data(instance.encoded)) as? [String: Any])
        #expect(
            Set(object.keys) == [
                "name", "id", "address", "port", "sslPort", "payload", "registrationTimeUTC", "serviceType", "uriSpec",
                "enabled",
            ])
        #expect(object["serviceType"] as? String == "DYNAMIC")
        let payload = try #require(object["payload"] as? [String: Any])
        #expect(payload["@class"] as? String == "java.util.LinkedHashMap")
        let parts = try #require((object["uriSpec"] as? [String: Any])?["parts"] as? [[String: Any]])
        #expect(parts.map { $0["value"] as? String } == ["scheme", "://", "address", ":", "ssl-port", "/api"])
        #expect(ServiceInstance.decode(instance.encoded) == instance)
        #expect(instance.uri() == "https://10.0.0.4:8443/api")
    }

    @Test("an instance Curator 5.4 registered reads: its payload map's strings become metadata")
    func curatorInstance() throws {
        // As Curator 5.4's JsonInstanceSerializer<Map> wrote it (tools/curator/Interop.java, through the ZooKeeper port):
        // no `enabled` field, which reads as enabled.
        let json = """
            {"name":"web","id":"a18f5b2e-f3c9-45bc-ba99-a37228c52ec3","address":"10.9.9.9","port":9090,"sslPort":null,\
            "payload":{"@class":"java.util.HashMap","zone":"java"},"registrationTimeUTC":1796309579479,\
            "serviceType":"DYNAMIC","uriSpec":{"parts":[{"value":"scheme","variable":true},{"value":"://",\
            "variable":false},{"value":"address","variable":true},{"value":":","variable":false},{"value":"port",\
            "variable":true}]}}
            """
        let instance = try #require(ServiceInstance.decode(Array(json.utf8)))
        #expect(instance.name == "web" && instance.address == "10.9.9.9" && instance.port == 9090)
        #expect(instance.sslPort == nil && instance.enabled && instance.weight == 1 && instance.tags.isEmpty)
        #expect(instance.metadata == ["zone": "java"])
        #expect(instance.uri() == "http://10.9.9.9:9090")
    }
}
