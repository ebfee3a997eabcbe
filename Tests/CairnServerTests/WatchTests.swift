import CairnTesting
import Foundation
import Synchronization
import Testing

@Suite("Watches: one-shot, persistent, recursive, ordering")
struct WatchTests {
    let directory = TemporaryDirectory("cairn-watch")
    let server: ServerProcess

    init() throws {
        server = try ServerProcess(dataDirectory: directory.appending("data"))
    }

    @Test("a data watch fires once, and its event arrives before the reply that reflects the change")
    func oneShotDataWatch() throws {
        let watcher = try server.client()
        try watcher.connect()
        let writer = try server.client()
        try writer.connect()
        try writer.call(["op": "create", "path": "/cfg", "data": "1"])
        #expect(try watcher.call(["op": "get", "path": "/cfg", "watch": true])["data"] as? String == "1")
        try writer.call(["op": "set", "path": "/cfg", "data": "2"])
        try writer.call(["op": "set", "path": "/cfg", "data": "3"])
        // The watcher's next read reflects both sets: the event must already be ahead of that reply.
        let read = try watcher.call(["op": "get", "path": "/cfg"])
        #expect(read["data"] as? String == "3")
        let events = watcher.drainEvents()
        #expect(events.count == 1, "one-shot: one event for two changes")
        #expect(events.first?["type"] as? String == "data_changed" && events.first?["path"] as? String == "/cfg")
    }

    @Test("the connection that makes a change hears its event before the change's reply, batch after batch")
    func ownEventBeforeOwnReply() throws {
        let c = try server.client()
        try c.connect()
        try c.call(["op": "create", "path": "/own"])
        try c.call(["op": "add_watch", "path": "/own"])
        // Pipelined sets share group commits: each reply must still follow its change's event on the wire.
        for round in 0..<200 { _ = try c.send(["op": "set", "path": "/own", "data": "\(round)"]) }
        var eventsSeen = 0
        for _ in 0..<400 {
            guard let line = try c.readLine() else { break }
            if line["event"] != nil {
                eventsSeen += 1
            } else {
                #expect(line["ok"] as? Bool == true)
                let version = try #require((line["stat"] as? [String: Any])?["version"] as? Int)
                #expect(version <= eventsSeen, "the reply for version \(version) came before its event")
            }
        }
        #expect(eventsSeen == 200)
    }

    @Test(
        "exists watches a missing node for its creation; children watches fire children_changed; deletes fire deleted")
    func existsAndChildren() throws {
        let c = try server.client()
        try c.connect()
        #expect(try c.call(["op": "exists", "path": "/svc", "watch": true])["stat"] is NSNull)
        try c.call(["op": "create", "path": "/svc"])
        #expect(try c.event()["type"] as? String == "created")
        #expect(try c.call(["op": "children", "path": "/svc", "watch": true])["children"] as? [String] == [])
        try c.call(["op": "create", "path": "/svc/a"])
        let child = try c.event()
        #expect(child["type"] as? String == "children_changed" && child["path"] as? String == "/svc")
        try c.call(["op": "get", "path": "/svc/a", "watch": true])
        try c.call(["op": "delete", "path": "/svc/a"])
        let deleted = try c.event()
        #expect(deleted["type"] as? String == "deleted" && deleted["path"] as? String == "/svc/a")
        #expect(try c.call(["op": "get", "path": "/nope", "watch": true]).errorCode == "no_node")
        #expect(try c.call(["op": "stats"])["watches"] as? Int == 0, "fired watches and failed gets leave none behind")
    }

    @Test("a persistent recursive watch hears every change below it until removed")
    func persistentRecursive() throws {
        let c = try server.client()
        try c.connect()
        try c.call(["op": "create", "path": "/tree"])
        #expect(try c.call(["op": "add_watch", "path": "/tree", "recursive": true]).ok)
        try c.call(["op": "create", "path": "/tree/a"])
        try c.call(["op": "create", "path": "/tree/a/b", "data": "x"])
        try c.call(["op": "set", "path": "/tree/a/b", "data": "y"])
        try c.call(["op": "delete", "path": "/tree/a/b"])
        try c.call(["op": "create", "path": "/elsewhere"])
        let seen = try (0..<4).map { _ in try c.event() }.map { "\($0["type"]!) \($0["path"]!)" }
        #expect(seen == ["created /tree/a", "created /tree/a/b", "data_changed /tree/a/b", "deleted /tree/a/b"])
        #expect(try c.call(["op": "remove_watch", "path": "/tree"])["removed"] as? Int == 1)
        try c.call(["op": "create", "path": "/tree/c"])
        try c.call(["op": "ping"])
        #expect(c.drainEvents().isEmpty)
    }

    @Test("since_zxid replays the missed changes first, then goes live")
    func sinceZxid() throws {
        let c = try server.client()
        try c.connect()
        let base = try c.call(["op": "create", "path": "/r"])["zxid"] as! Int
        for k in 0..<5 { try c.call(["op": "create", "path": "/r/n\(k)"]) }
        try c.call(["op": "create", "path": "/other"])
        let reply = try c.call(["op": "add_watch", "path": "/r", "recursive": true, "since_zxid": base + 2])
        #expect(reply["replayed"] as? Int == 3)
        try c.call(["op": "create", "path": "/r/live"])
        let paths = try (0..<4).map { _ in try c.event()["path"] as? String }
        #expect(paths == ["/r/n2", "/r/n3", "/r/n4", "/r/live"])
    }

    @Test("ephemerals of an expired session are deleted and watchers are told")
    func expiry() throws {
        let owner = try server.client()
        try owner.connect(timeoutMilliseconds: 1000)
        try owner.call(["op": "create", "path": "/locks"])
        let lock =
            try owner.call(["op": "create", "path": "/locks/l-", "ephemeral": true, "sequential": true])["path"]
            as! String
        let watcher = try server.client()
        try watcher.connect()
        try watcher.call(["op": "get", "path": lock, "watch": true])
        // The owner goes silent; within its timeout plus the expiry check, the node goes.
        let event = try watcher.event()
        #expect(event["type"] as? String == "deleted" && event["path"] as? String == lock)
        #expect(try watcher.call(["op": "exists", "path": lock])["stat"] is NSNull)
        let expired = try owner.readLine()
        #expect(expired?["event"] as? String == "session_expired")
        #expect(try owner.readLine() == nil, "the expired session's connection is closed")
    }

    @Test("while another connection writes, every read's reply comes after the events of the changes it reflects")
    func eventsBeforeReadsUnderConcurrentWrites() throws {
        let watcher = try server.client()
        try watcher.connect()
        try watcher.call(["op": "create", "path": "/race"])
        try watcher.call(["op": "add_watch", "path": "/race"])
        // Handed to the writing thread, and used by it alone from then on.
        nonisolated(unsafe) let writer = try server.client()
        try writer.connect()
        let done = Mutex(false)
        let writing = Thread {
            for round in 0..<2000 { _ = try? writer.call(["op": "set", "path": "/race", "data": "\(round)"]) }
            done.withLock { $0 = true }
        }
        writing.start()
        var reads = 0
        var heard: Int = 0
        while !done.withLock({ $0 }) {
            let reply = try watcher.call(["op": "get", "path": "/race"])
            let reflected = try #require((reply["stat"] as? [String: Any])?["mzxid"] as? Int)
            heard = max(heard, watcher.events.compactMap { $0["zxid"] as? Int }.max() ?? 0)
            _ = watcher.drainEvents()
            // The node's creation needs no event: only sets after the watch was added do.
            if (reply["stat"] as? [String: Any])?["version"] as? Int ?? 0 > 0 {
                #expect(
                    heard >= reflected, "a reply reflecting zxid \(reflected) came before its event (heard \(heard))")
            }
            reads += 1
        }
        #expect(reads > 100)
    }
}
