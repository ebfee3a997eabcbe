import CairnTesting
import LMDB
import Testing

@Suite("LMDB wrapper against Debian's liblmdb")
struct EnvironmentTests {
    @Test("writes commit when the closure returns and vanish when it throws; nested transactions roll back alone")
    func transactions() throws {
        struct Boom: Error {}
        let dir = TemporaryDirectory("lmdb")
        let env = try Environment(path: dir.path, flags: [.noThreadLocalStorage], mapSize: 1 << 20)
        let db = try env.openDatabase("t")
        try env.write { txn in try txn.put(db, key: [1], value: [10]) }
        #expect(throws: Boom.self) {
            try env.write { txn in
                try txn.put(db, key: [2], value: [20])
                throw Boom()
            }
        }
        try env.write { txn in
            try txn.put(db, key: [3], value: [30])
            _ = try? txn.nested { child in
                try child.put(db, key: [4], value: [40])
                throw Boom()
            }
            try txn.nested { child in try child.put(db, key: [5], value: [50]) }
        }
        let keys = try env.read { txn in
            var keys: [[UInt8]] = []
            try txn.scan(db) { key, _ in
                keys.append(Array(key))
                return true
            }
            return keys
        }
        #expect(keys == [[1], [3], [5]])
        #expect(try env.read { try $0.get(db, key: [5]) } == [50])
        #expect(try env.write { try $0.put(db, key: [1], value: [0], flags: .noOverwrite) } == false)
    }

    @Test("MDB_MAP_FULL is reported as such, and growing the map lets the write through")
    func mapFull() throws {
        let dir = TemporaryDirectory("lmdb")
        let env = try Environment(path: dir.path, flags: [.noThreadLocalStorage], mapSize: 64 << 10)
        let db = try env.openDatabase("t")
        let value = [UInt8](repeating: 1, count: 200 << 10)
        do {
            try env.write { try $0.put(db, key: [1], value: value) }
            Issue.record("a 200 KiB value fit in a 64 KiB map")
        } catch let error as LMDBError {
            #expect(error.isMapFull)
        }
        try env.setMapSize(1 << 20)
        try env.write { try $0.put(db, key: [1], value: value) }
        #expect(try env.read { try $0.get(db, key: [1]) }?.count == value.count)
    }
}
