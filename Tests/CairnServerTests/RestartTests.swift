import CairnTesting
import Foundation
import Testing

@Suite("Restarts: SIGKILL, SIGTERM, sessions across restarts")
struct RestartTests {
    let directory = TemporaryDirectory("cairn-restart")

    func start() throws -> ServerProcess { try ServerProcess(dataDirectory: directory.appending("data")) }

    @Test("every acknowledged change survives SIGKILL")
    func ackedSurviveKill() throws {
        let server = try start()
        var acked: [Int] = []
        let clients = try (0..<4).map { _ in try server.client() }
        for c in clients { try c.connect() }
        try clients[0].call(["op": "create", "path": "/d"])
        for round in 0..<50 {
            for (i, c) in clients.enumerated() {
                try c.send(["op": "create", "path": "/d/n\(round)-\(i)", "data": "\(round)"])
            }
            for (i, c) in clients.enumerated() where try c.reply().ok { acked.append(round * 10 + i) }
        }
        server.kill()
        let restarted = try server.restarted()
        let c = try restarted.client()
        try c.connect()
        let children = Set(try c.call(["op": "children", "path": "/d"])["children"] as? [String] ?? [])
        #expect(acked.count == 200)
        for k in acked { #expect(children.contains("n\(k / 10)-\(k % 10)")) }
        #expect(try c.call(["op": "get", "path": "/d/n49-3"])["data"] as? String == "49")
    }

    @Test("after SIGKILL a session that reconnects within its window keeps its ephemerals; one that doesn't loses them")
    func sessionsAcrossKill() throws {
        let server = try start()
        let keeper = try server.client()
        let keeperSession = try keeper.connect(timeoutMilliseconds: 2000)
        let leaver = try server.client()
        try leaver.connect(timeoutMilliseconds: 2000)
        try keeper.call(["op": "create", "path": "/services"])
        let kept =
            try keeper.call(["op": "create", "path": "/services/k-", "ephemeral": true, "sequential": true])["path"]
            as! String
        let lost =
            try leaver.call(["op": "create", "path": "/services/l-", "ephemeral": true, "sequential": true])["path"]
            as! String
        server.kill()
        let restarted = try server.restarted()
        let again = try restarted.client()
        let resumed = try again.call([
            "op": "connect", "session_id": keeperSession.id, "password": keeperSession.password,
        ])
        #expect(resumed.ok && resumed["session_id"] as? String == keeperSession.id)
        #expect(try again.call(["op": "exists", "path": kept])["stat"] is [String: Any])
        // Keep the resumed session alive past the window while the other one's runs out.
        for _ in 0..<12 {
            usleep(400_000)
            try again.call(["op": "ping"])
        }
        #expect(try again.call(["op": "exists", "path": kept])["stat"] is [String: Any], "kept: it reconnected")
        #expect(try again.call(["op": "exists", "path": lost])["stat"] is NSNull, "gone: it never came back")
        let wrong = try restarted.client()
        #expect(
            try wrong.call(["op": "connect", "session_id": keeperSession.id, "password": "AAAAAAAAAAAAAAAAAAAAAA=="])
                .errorCode == "session_expired")
    }

    @Test("a crash loop cannot keep a dead session alive: it expires within timeout plus one grace of uptime")
    func crashLoop() throws {
        var server = try start()
        let c = try server.client()
        try c.connect(timeoutMilliseconds: 1500)
        try c.call(["op": "create", "path": "/ghost", "ephemeral": true])
        // Restart every ~0.8 s, always inside the previous window: a fresh grace at every start would
        // keep the session forever.
        for _ in 0..<6 {
            usleep(800_000)
            server.kill()
            server = try server.restarted()
        }
        usleep(1_000_000)
        let probe = try server.client()
        try probe.connect()
        #expect(try probe.call(["op": "exists", "path": "/ghost"])["stat"] is NSNull)
    }

    @Test("a session that reconnected after a restart gets a fresh grace at the next one, even right after a crash")
    func reconnectEndsGrace() throws {
        let server = try start()
        let c = try server.client()
        let session = try c.connect(timeoutMilliseconds: 2000)
        try c.call(["op": "create", "path": "/mine", "ephemeral": true])
        server.kill()
        let second = try server.restarted()
        let again = try second.client()
        #expect(try again.call(["op": "connect", "session_id": session.id, "password": session.password]).ok)
        usleep(200_000)
        second.kill()  // before any periodic checkpoint could record the reconnect
        usleep(2_500_000)  // past the first restart's grace window
        let third = try second.restarted()
        usleep(300_000)  // let the expiry check run first: a session without a new grace would be gone now
        let last = try third.client()
        #expect(try last.call(["op": "connect", "session_id": session.id, "password": session.password]).ok)
        #expect(try last.call(["op": "exists", "path": "/mine"])["stat"] is [String: Any])
    }

    @Test("SIGTERM stops gracefully: exit 0, then sessions resume and data is there")
    func gracefulStop() throws {
        let server = try start()
        let c = try server.client()
        let session = try c.connect(timeoutMilliseconds: 5000)
        try c.call(["op": "create", "path": "/e", "ephemeral": true])
        #expect(server.stop() == 0)
        #expect(server.log.contains { $0.contains("cairn stopped") })
        let restarted = try server.restarted()
        let again = try restarted.client()
        #expect(try again.call(["op": "connect", "session_id": session.id, "password": session.password]).ok)
        #expect(try again.call(["op": "exists", "path": "/e"])["stat"] is [String: Any])
    }

    @Test("SIGTERM amid 3000 pipelined creates: every create the server took is answered before it closes; exit 0")
    func gracefulStopDrains() throws {
        let server = try start()
        let c = try server.client()
        try c.connect()
        try c.call(["op": "create", "path": "/p"])
        var lines: [UInt8] = []
        for index in 0..<3000 {
            lines += Array(#"{"id":\#(index + 100),"op":"create","path":"/p/n\#(index)"}"#.utf8) + [10]
        }
        try c.sendRaw(lines)
        server.terminate()
        var answered = 0
        while let line = try c.readLine() {
            #expect(line.ok, "a create the server took failed: \(line)")
            answered += 1
        }
        #expect(server.waitForExit() == 0)
        let restarted = try server.restarted()
        let check = try restarted.client()
        try check.connect()
        let present = try check.call(["op": "children", "path": "/p"])["children"] as? [Any]
        #expect(answered > 0)
        #expect(present?.count == answered, "every create applied was answered, and only those")
    }

    @Test("since_zxid resumes a watch across a restart without missing a change")
    func sinceZxidAcrossRestart() throws {
        let server = try start()
        let c = try server.client()
        try c.connect()
        try c.call(["op": "create", "path": "/cfg"])
        #expect(try c.call(["op": "add_watch", "path": "/cfg", "recursive": true]).ok)
        try c.call(["op": "create", "path": "/cfg/a"])
        let lastSeen = try c.event()["zxid"] as! Int
        server.kill()
        // Changes the watcher could not see: between its last event and the crash, and after the restart.
        let restarted = try server.restarted()
        let writer = try restarted.client()
        try writer.connect()
        try writer.call(["op": "create", "path": "/cfg/b"])
        try writer.call(["op": "set", "path": "/cfg/a", "data": "2"])
        let again = try restarted.client()
        try again.connect()
        #expect(
            try again.call(["op": "add_watch", "path": "/cfg", "recursive": true, "since_zxid": lastSeen])["replayed"]
                as? Int == 2)
        try writer.call(["op": "delete", "path": "/cfg/b"])
        let seen = try (0..<3).map { _ in try again.event() }.map { "\($0["type"]!) \($0["path"]!)" }
        #expect(seen == ["created /cfg/b", "data_changed /cfg/a", "deleted /cfg/b"])
    }
}
