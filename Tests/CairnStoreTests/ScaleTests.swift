import CairnCore
import CairnStore
import CairnTesting
import Testing

@Suite("Scale and limits: map growth, long paths, wide nodes")
struct ScaleTests {
    @Test("the map grows far past its initial size, and past the limit writes fail while reads keep working")
    func mapGrowthAndLimit() throws {
        let f = try StoreFixture {
            $0.initialMapSize = 1 << 20
            $0.maxMapSize = 32 << 20
            $0.maxDataSize = 64 << 10
        }
        let chunk = String(repeating: "z", count: 60 << 10)
        var written = 0
        var refusal: CairnError?
        while refusal == nil && written < 2000 {
            do {
                try f.create("/big\(written)", chunk)
                written += 1
            } catch let error as CairnError {
                refusal = error
            }
        }
        #expect(written * (60 << 10) > 16 << 20, "far more than the 1 MiB initial map went in (\(written) nodes)")
        #expect(refusal?.code == "unavailable")
        #expect(try f.node("/big0")?.data?.count == 60 << 10, "reads still work")
        #expect(try f.children("/")?.count == written + 1, "and /zookeeper")
        try f.reopen()
        #expect(try f.children("/")?.count == written + 1, "everything acknowledged before the limit survives")
    }

    @Test("paths of 4096 bytes and more work: deep ones and a single long name", arguments: [2, 4096])
    func longPaths(segmentLength: Int) throws {
        let f = try StoreFixture()
        let segment = String(repeating: "p", count: segmentLength - 1)
        var path = ""
        while path.utf8.count + segmentLength <= 4200 {
            path += "/" + segment
            try f.create(path, "at \(path.utf8.count)")
        }
        #expect(path.utf8.count >= 4096)
        #expect(try f.node(path)?.data == bytes("at \(path.utf8.count)"))
        try f.reopen()
        #expect(try f.node(path)?.data == bytes("at \(path.utf8.count)"))
        try f.commit(.operation(.delete(path: try ZNodePath(path), version: -1)))
        #expect(try f.node(path) == nil)
    }

    @Test("long names sharing a prefix list in name order next to short ones")
    func longNamesOrder() throws {
        let f = try StoreFixture()
        try f.create("/w")
        let prefix = String(repeating: "n", count: 600)
        let names = ["a", prefix, prefix + "b", prefix + "a", prefix + "ab", String(prefix.prefix(480)), "z"]
        for name in names { try f.create("/w/" + name) }
        #expect(try f.children("/w") == names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        #expect(throws: CairnError.nodeExists(path("/w/" + prefix + "a"))) { try f.create("/w/" + prefix + "a") }
        #expect(try f.node("/w/" + prefix + "ab") != nil)
    }

    @Test("100,000 children of one node are listed in name order")
    func wideNode() throws {
        let f = try StoreFixture()
        try f.create("/wide")
        let count = 100_000
        let batch = 500
        for start in stride(from: 0, to: count, by: batch) {
            let ops = (start..<min(start + batch, count)).map {
                Operation.create(path: "/wide/c\($0)", data: [], kind: .persistent, sequential: false)
            }
            try f.commit(.multi(ops))
        }
        let listed = try #require(try f.children("/wide"))
        #expect(listed.count == count)
        #expect(listed == (0..<count).map { "c\($0)" }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        #expect(try f.node("/wide")?.stat.numChildren == Int32(count))
    }
}
