import CairnCore
import CairnStore
import Foundation
import Testing

@Suite("Changes: ZooKeeper semantics of create, delete, setData, check, multi")
struct ChangeSemanticsTests {
    @Test("create sets the stat, bumps the parent's cversion and pzxid, and each change takes the next zxid")
    func createStat() throws {
        let f = try StoreFixture()
        let a = try f.create("/a", "hello")
        #expect(a.stat.czxid == 1 && a.stat.mzxid == 1 && a.stat.pzxid == 1)
        #expect(a.stat.version == 0 && a.stat.cversion == 0 && a.stat.dataLength == 5 && a.stat.numChildren == 0)
        #expect(a.stat.ephemeralOwner == nil)
        let b = try f.create("/a/b")
        #expect(b.stat.czxid == 2)
        let parent = try #require(try f.node("/a"))
        #expect(parent.stat.cversion == 1 && parent.stat.numChildren == 1 && parent.stat.pzxid == 2)
        #expect(parent.stat.mzxid == 1, "a child change is not a data change")
        #expect(parent.data == bytes("hello"))
    }

    @Test("failed requests get an error and no zxid; zxids stay dense")
    func failuresTakeNoZxid() throws {
        let f = try StoreFixture()
        try f.create("/a")
        #expect(throws: CairnError.nodeExists(path("/a"))) { try f.create("/a") }
        #expect(throws: CairnError.noNode(path("/missing"))) { try f.create("/missing/child") }
        let next = try f.create("/b")
        #expect(next.stat.czxid == 2)
        let history = try f.store.history(after: 0)
        #expect(history.map(\.zxid) == [1, 2])
    }

    @Test("sequential suffix counts the parent's child creates (deletes do not), cversion creates and deletes")
    func sequentialNumbering() throws {
        let f = try StoreFixture()
        try f.create("/q")
        let first = try f.create("/q/job-", sequential: true)
        let second = try f.create("/q/job-", sequential: true)
        #expect(first.path.string == "/q/job-0000000000")
        #expect(second.path.string == "/q/job-0000000001")
        try f.commit(.operation(.delete(path: first.path, version: -1)))
        #expect(try f.node("/q")?.stat.cversion == 3, "two creates and a delete")
        let third = try f.create("/q/", sequential: true)
        #expect(third.path.string == "/q/0000000002", "ZooKeeper's numbering: the delete does not advance it")
        #expect(try f.children("/q") == ["0000000002", "job-0000000001"])
        let parent = try #require(try f.node("/q"))
        #expect(parent.stat.cversion == 4 && parent.stat.numChildren == 2)
        try f.reopen()
        #expect(try f.node("/q")?.stat == parent.stat, "the counter and cversion are stored")
    }

    /// A data directory of format 1 (no `FORMAT` file) counted deletes in the sequence counter; its log is replayed
    /// by that rule, later changes by ZooKeeper's. The log here holds what a format-1 server's sequential creates
    /// wrote (the names it chose), as plain creates: the WAL records are the same.
    @Test("a format-1 data directory replays its log by format 1's rule, later changes by format 2's")
    func formatOneUpgrade() throws {
        let f = try StoreFixture()
        try f.create("/q")
        try f.create("/q/n-0000000000")
        try f.commit(.operation(.delete(path: path("/q/n-0000000000"), version: -1)))
        try f.create("/q/n-0000000002")  // format 1: creates and the delete counted, next suffix 3
        let formatFile = f.data.path + "/FORMAT"
        #expect(FileManager.default.fileExists(atPath: formatFile))
        // Make it the directory a format-1 server left: no FORMAT, and LMDB lost, so the whole log is replayed.
        f.store.close()
        try FileManager.default.removeItem(atPath: formatFile)
        try FileManager.default.removeItem(atPath: f.data.store)
        try f.reopen()
        #expect(
            try String(contentsOfFile: formatFile, encoding: .utf8)
                == "format=3 deletes_counted_through=4 system_nodes_after=4\n")
        #expect(try f.create("/q/n-", sequential: true).path.string == "/q/n-0000000003", "no name handed out twice")
        try f.commit(.operation(.delete(path: path("/q/n-0000000003"), version: -1)))
        let fifth = try f.create("/q/n-", sequential: true)
        #expect(fifth.path.string == "/q/n-0000000004", "format 2: deletes not counted")
        let parent = try #require(try f.node("/q"))
        // Replayed again from the log alone: changes 1–4 by format 1's rule, 5–7 by format 2's.
        f.store.close()
        try FileManager.default.removeItem(atPath: f.data.store)
        try f.reopen()
        #expect(try f.node("/q")?.stat == parent.stat)
        #expect(try f.create("/q/n-", sequential: true).path.string == "/q/n-0000000005")
    }

    @Test("ZooKeeper's nodes: in a new tree by no change, counted as children but not creates, undeletable")
    func systemNodes() throws {
        let f = try StoreFixture()
        #expect(try f.children("/") == ["zookeeper"])
        #expect(try f.children("/zookeeper") == ["config", "quota"])
        let root = try #require(try f.node("/"))
        #expect(root.stat.cversion == -1 && root.stat.numChildren == 1 && root.stat.pzxid == 0, "ZooKeeper's figures")
        let config = try #require(try f.node("/zookeeper/config"))
        #expect(config.acl == [ACLEntry(.read, .anyone)] && config.stat.aversion == -1 && config.stat.czxid == 0)
        #expect(try f.create("/", sequential: true).path.string == "/0000000000")
        for system in ["/zookeeper", "/zookeeper/config", "/zookeeper/quota"] {
            #expect(throws: CairnError.badArguments("\(system) is ZooKeeper's and cannot be deleted")) {
                try f.commit(.operation(.delete(path: path(system), version: -1)))
            }
        }
        try f.create("/zookeeper/quota/app")
        #expect(throws: CairnError.nodeExists(path("/zookeeper"))) { try f.create("/zookeeper") }
    }

    /// A format-2 directory (before the system nodes): its log replays onto a tree without them (a `/zookeeper` it
    /// made itself is kept), then they are made, and changes after that below them replay onto them.
    @Test("a format-2 data directory gets the system nodes after its log; later changes below them replay")
    func formatTwoUpgrade() throws {
        let f = try StoreFixture()
        let formatFile = f.data.path + "/FORMAT"
        try f.create("/a")
        // What a format-2 server left: no system nodes in its log's tree.
        f.store.close()
        try "format=2 deletes_counted_through=0\n".write(toFile: formatFile, atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: f.data.store)
        try f.reopen()
        #expect(
            try String(contentsOfFile: formatFile, encoding: .utf8)
                == "format=3 deletes_counted_through=0 system_nodes_after=1\n")
        #expect(try f.children("/") == ["a", "zookeeper"])
        try f.create("/zookeeper/quota/a")
        let tree = try f.tree()
        // LMDB lost again: change 1 replays, the system nodes come, then change 2 below them.
        f.store.close()
        try FileManager.default.removeItem(atPath: f.data.store)
        try f.reopen()
        #expect(try f.tree() == tree)
    }

    @Test("null data (ZooKeeper's null buffer) stays null, not empty: in the store, and replayed from the WAL")
    func nullData() throws {
        let f = try StoreFixture()
        try f.commit(.operation(.create(path: "/null", data: nil, kind: .persistent, sequential: false)))
        try f.create("/empty")
        try f.create("/later", "x")
        try f.commit(.operation(.setData(path: path("/later"), data: nil, version: -1)))
        for _ in 0..<2 {
            #expect(try f.node("/null")?.data == nil && f.node("/null")?.stat.dataLength == 0)
            #expect(try f.node("/empty")?.data == [])
            #expect(try f.node("/later")?.data == nil && f.node("/later")?.stat.version == 1)
            // Again from the log alone.
            f.store.close()
            try FileManager.default.removeItem(atPath: f.data.store)
            try f.reopen()
        }
    }

    @Test("delete: no_node, not_empty, bad_version; -1 matches any version; the root cannot be deleted")
    func deleteRules() throws {
        let f = try StoreFixture()
        try f.create("/a")
        try f.create("/a/b")
        #expect(throws: CairnError.notEmpty(path("/a"))) {
            try f.commit(.operation(.delete(path: path("/a"), version: -1)))
        }
        #expect(throws: CairnError.badVersion(path("/a/b"), expected: 3, actual: 0)) {
            try f.commit(.operation(.delete(path: path("/a/b"), version: 3)))
        }
        try f.commit(.operation(.delete(path: path("/a/b"), version: 0)))
        try f.commit(.operation(.delete(path: path("/a"), version: -1)))
        #expect(throws: CairnError.noNode(path("/a"))) {
            try f.commit(.operation(.delete(path: path("/a"), version: -1)))
        }
        #expect(throws: CairnError.badArguments("the root node cannot be deleted")) {
            try f.commit(.operation(.delete(path: .root, version: -1)))
        }
        let root = try #require(try f.node("/"))
        #expect(root.stat.numChildren == 1 && root.stat.cversion == 1, "/zookeeper, and a create and a delete")
    }

    @Test("setData bumps version, mzxid and mtime; a wrong version is refused")
    func setData() throws {
        let f = try StoreFixture()
        try f.create("/cfg", "one")
        let set = try f.commit(.operation(.setData(path: path("/cfg"), data: bytes("two"), version: 0)))
        guard case .set(let stat) = set.results.first else {
            Issue.record("no stat")
            return
        }
        #expect(stat.version == 1 && stat.mzxid == 2 && stat.czxid == 1 && stat.dataLength == 3)
        #expect(throws: CairnError.badVersion(path("/cfg"), expected: 0, actual: 1)) {
            try f.commit(.operation(.setData(path: path("/cfg"), data: bytes("three"), version: 0)))
        }
        #expect(try f.node("/cfg")?.data == bytes("two"))
        #expect(throws: CairnError.noNode(path("/nope"))) {
            try f.commit(.operation(.setData(path: path("/nope"), data: [], version: -1)))
        }
    }

    @Test("data over the limit is too_large")
    func dataLimit() throws {
        let f = try StoreFixture { $0.maxDataSize = 100 }
        #expect(throws: CairnError.self) { try f.create("/big", String(repeating: "x", count: 101)) }
        do {
            try f.create("/big", String(repeating: "x", count: 101))
        } catch let error as CairnError {
            #expect(error.code == "too_large")
        }
        try f.create("/ok", String(repeating: "x", count: 100))
    }

    @Test("multi is all or nothing and names the failing op's index")
    func multiAtomicity() throws {
        let f = try StoreFixture()
        try f.create("/m", "0")
        let failing: Request = .multi([
            .create(path: "/m/a", data: [], kind: .persistent, sequential: false),
            .setData(path: path("/m"), data: bytes("1"), version: -1),
            .check(path: path("/m"), version: 0),  // version is 1 after op 1: fails
            .create(path: "/m/b", data: [], kind: .persistent, sequential: false),
        ])
        #expect(throws: CairnError.multiFailed(index: 2, cause: .badVersion(path("/m"), expected: 0, actual: 1))) {
            try f.commit(failing)
        }
        #expect(try f.children("/m") == [])
        #expect(try f.node("/m")?.data == bytes("0"))
        #expect(try f.node("/m")?.stat.cversion == 0, "the rolled-back create left no trace")

        let passing = try f.commit(
            .multi([
                .create(path: "/m/a", data: [], kind: .persistent, sequential: false),
                .check(path: path("/m"), version: 0),
                .setData(path: path("/m"), data: bytes("1"), version: 0),
                .delete(path: path("/m/a"), version: 0),
            ]))
        guard case .created(let created, _) = passing.results[0], case .set(let setStat) = passing.results[2] else {
            Issue.record("unexpected results \(passing.results)")
            return
        }
        #expect(created == path("/m/a") && setStat.version == 1)
        #expect(passing.results[1] == .checked && passing.results[3] == .deleted)
        #expect(passing.change?.effects.count == 4)
        #expect(try f.node("/m")?.stat.version == 1)
        #expect(try f.store.history(after: 1).count == 1, "a multi is one change")
    }

    @Test("ephemerals: need a live session, cannot have children, go with closeSession in the same change")
    func ephemerals() throws {
        let f = try StoreFixture()
        try f.create("/services")
        #expect(throws: CairnError.badArguments("an ephemeral node needs a session")) {
            try f.create("/services/x", kind: .ephemeral)
        }
        let ghost = SessionID(rawValue: 42)
        #expect(throws: CairnError.sessionExpired(ghost)) {
            try f.create("/services/x", kind: .ephemeral, session: ghost)
        }
        let session = try f.newSession()
        let a = try f.create("/services/web-", kind: .ephemeral, sequential: true, session: session)
        let b = try f.create("/services/web-", kind: .ephemeral, sequential: true, session: session)
        #expect(a.stat.ephemeralOwner == session)
        #expect(throws: CairnError.noChildrenForEphemerals(a.path)) { try f.create(a.path.string + "/child") }
        let closed = try f.commit(.closeSession(session))
        #expect(
            closed.change?.effects == [
                .deleteNode(path: a.path), .deleteNode(path: b.path), .closeSession(id: session),
            ])
        #expect(try f.children("/services") == [])
        #expect(try f.store.read { try $0.session(session) } == nil)
        #expect(throws: CairnError.sessionExpired(session)) { try f.commit(.closeSession(session)) }
    }

    @Test("reap deletes containers emptied of children and TTL nodes past their TTL, nothing else")
    func reaping() throws {
        let f = try StoreFixture()
        try f.create("/c", kind: .container)
        try f.create("/fresh", kind: .container)
        try f.create("/c/x")
        try f.commit(.operation(.delete(path: path("/c/x"), version: -1)))
        let ttl = try f.create("/t", kind: .persistentWithTTL(ttlMilliseconds: 1000))
        try f.create("/busy", kind: .persistentWithTTL(ttlMilliseconds: 1000))
        try f.create("/busy/child")
        let early = try f.commit(.reap(now: ttl.stat.mtime + 500))
        #expect(early.change?.effects == [.deleteNode(path: path("/c"))])
        let late = try f.commit(.reap(now: ttl.stat.mtime + 1000))
        #expect(late.change?.effects == [.deleteNode(path: path("/t"))])
        let nothing = try f.commit(.reap(now: ttl.stat.mtime + 5000))
        #expect(nothing.change == nil && nothing.zxid == late.zxid, "nothing due: no change, no zxid")
        #expect(try f.children("/") == ["busy", "fresh", "zookeeper"])
        #expect(throws: CairnError.badArguments("ttl_ms must be in 1...1099511627775 (got 0)")) {
            try f.create("/bad", kind: .persistentWithTTL(ttlMilliseconds: 0))
        }
    }

    @Test(
        "invalid paths are refused with invalid_path",
        arguments: ["", "a", "/a/", "//", "/a//b", "/a/./b", "/..", "/a\u{0}b", "/a\u{1F}"])
    func invalidPaths(raw: String) throws {
        let f = try StoreFixture()
        do {
            try f.create(raw)
            Issue.record("\(raw.debugDescription) was accepted")
        } catch let error as CairnError {
            #expect(error.code == "invalid_path")
        }
    }
}

@Suite("ACLs in the store: kept with the node, logged, replayed, checked at commit")
struct StoredACLTests {
    static let bob = ACLEntry(.all, Principal(scheme: "digest", id: "bob:0ezhUayTjEymfNB3K9C0+wkMLMo="))
    static let readers = ACLEntry(.read, Principal(scheme: "ip", id: "10.0.0.0/8"))

    @Test("create and set_acl are replayed from the WAL alone: same ACLs, aversion counted")
    func replayedFromTheLog() throws {
        let f = try StoreFixture()
        try f.commit(.operation(.create(path: "/a", data: [], kind: .persistent, sequential: false, acl: [Self.bob])))
        try f.create("/open")
        let set = try f.commit(.operation(.setACL(path: path("/a"), acl: [Self.bob, Self.readers], version: 0)))
        guard case .aclSet(let stat) = set.results.first else { throw CairnError.internal("no aclSet result") }
        #expect(stat.aversion == 1)
        #expect(throws: CairnError.badVersion(path("/a"), expected: 0, actual: 1)) {
            try f.commit(.operation(.setACL(path: path("/a"), acl: .open, version: 0)))
        }
        f.store.close()
        // Without the LMDB store, the start rebuilds every node from the WAL's records.
        try FileManager.default.removeItem(atPath: f.directory.appending("data/store"))
        try f.reopen()
        let node = try #require(try f.store.read { try $0.node(at: path("/a")) })
        #expect(node.acl == [Self.bob, Self.readers] && node.stat.aversion == 1)
        #expect(try f.store.read { try $0.node(at: path("/open")) }?.acl == .open)
    }

    @Test("a caller the ACL does not name is refused at commit; the server's own identity passes")
    func checkedAtCommit() throws {
        let f = try StoreFixture()
        try f.commit(
            .operation(.create(path: "/a", data: [], kind: .persistent, sequential: false, acl: [Self.readers])))
        let inside = Identity(principals: [Principal(scheme: "ip", id: "10.1.2.3")])
        let outside = Identity(principals: [Principal(scheme: "ip", id: "192.168.0.1")])
        #expect(throws: CairnError.noAuth("WRITE permission on /a is needed")) {
            try f.store.commitBlocking(.operation(.setData(path: path("/a"), data: [1], version: -1)), identity: inside)
        }
        #expect(throws: CairnError.noAuth("CREATE permission on /a is needed")) {
            try f.store.commitBlocking(
                .operation(.create(path: "/a/b", data: [], kind: .persistent, sequential: false)), identity: outside)
        }
        _ = try f.store.commitBlocking(.operation(.check(path: path("/a"), version: 0)), identity: inside)
        try f.commit(.operation(.setData(path: path("/a"), data: [1], version: -1)))
    }
}
