import CairnTesting
import Foundation
import Testing

/// ZooKeeper's digest ids, computed as `openssl dgst -binary -sha1 | base64` does (the first is the value ZooKeeper's
/// documentation and every guide cite for super:admin).
enum Digests {
    static let superUser = "super:xQJmxLMiHGwaqBvst5y6rkB6HQs="
    static let bob = "bob:0ezhUayTjEymfNB3K9C0+wkMLMo="
    static let alice = "alice:" + sha1Base64("alice:alicepw")
    static let ops = "ops:" + sha1Base64("ops:opspw")

    static func sha1Base64(_ text: String) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "printf %s \"$0\" | openssl dgst -binary -sha1 | base64", text]
        let pipe = Pipe()
        process.standardOutput = pipe
        try? process.run()
        process.waitUntilExit()
        return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

@Suite("Access control: ACLs checked as ZooKeeper 3.9 checks them, auth, whoami, operator operations")
struct AccessControlTests {
    let directory = TemporaryDirectory("cairn-acl")
    let server: ServerProcess

    init() throws {
        server = try ServerProcess(
            dataDirectory: directory.appending("data"),
            arguments: ["--super-digest", Digests.superUser, "--admin-digest", Digests.ops])
    }

    /// A connection with a session, authenticated as `credentials` when given.
    func client(_ credentials: String? = nil) throws -> LineClient {
        let c = try server.client()
        try c.connect()
        if let credentials {
            let reply = try c.call(["op": "auth", "scheme": "digest", "credentials": credentials])
            #expect(reply.ok, "auth \(credentials.prefix(while: { $0 != ":" })): \(reply)")
        }
        return c
    }

    static func entry(_ perms: Int, _ scheme: String, _ id: String) -> [String: Any] {
        ["perms": perms, "scheme": scheme, "id": id]
    }

    @Test("without the permission every op kind is no_auth and changes nothing; with it, each works")
    func everyOpChecked() throws {
        let alice = try client("alice:alicepw")
        let mallory = try client("mallory:guess")
        let aliceOnly = [Self.entry(31, "digest", Digests.alice)]
        #expect(try alice.call(["op": "create", "path": "/vault", "data": "v0", "acl": aliceOnly]).ok)
        #expect(try alice.call(["op": "create", "path": "/vault/item", "acl": aliceOnly]).ok)
        #expect(try alice.call(["op": "create", "path": "/open"]).ok)

        let denied: [[String: Any]] = [
            ["op": "get", "path": "/vault"],
            ["op": "get", "path": "/vault", "watch": true],
            ["op": "children", "path": "/vault"],
            ["op": "exists", "path": "/vault"],
            ["op": "get_acl", "path": "/vault"],
            ["op": "set", "path": "/vault", "data": "stolen"],
            ["op": "create", "path": "/vault/new"],
            ["op": "create", "path": "/vault/item"],  // exists, but CREATE is checked first (ZooKeeper's order)
            ["op": "create", "path": "/vault/seq-", "sequential": true],
            ["op": "delete", "path": "/vault/item"],
            ["op": "delete", "path": "/vault/missing"],  // DELETE on the parent before the child is looked up
            ["op": "set_acl", "path": "/vault", "acl": [Self.entry(31, "world", "anyone")]],
            ["op": "multi", "ops": [["op": "check", "path": "/vault", "version": 0]]],
        ]
        for request in denied {
            let reply = try mallory.call(request)
            #expect(reply.errorCode == "no_auth", "\(request): \(reply)")
        }
        let multi = try mallory.call([
            "op": "multi",
            "ops": [["op": "create", "path": "/open/mine"], ["op": "set", "path": "/vault", "data": "x"]],
        ])
        #expect(multi.errorCode == "no_auth")
        #expect((multi["error"] as? [String: Any])?["index"] as? Int == 1)
        #expect(try alice.call(["op": "exists", "path": "/open/mine"])["stat"] is NSNull, "a denied multi wrote")
        // Missing nodes need no permission to learn they are missing, as in ZooKeeper.
        #expect(try mallory.call(["op": "exists", "path": "/vault-missing"])["stat"] is NSNull)
        #expect(try mallory.call(["op": "get", "path": "/missing"]).errorCode == "no_node")

        // Nothing changed, and every op works for alice.
        let node = try alice.call(["op": "get", "path": "/vault"])
        #expect(node["data"] as? String == "v0")
        #expect((node["stat"] as? [String: Any])?["version"] as? Int == 0)
        #expect((node["stat"] as? [String: Any])?["num_children"] as? Int == 1)
        #expect(try alice.call(["op": "children", "path": "/vault"])["children"] as? [String] == ["item"])
        #expect(try alice.call(["op": "set", "path": "/vault", "data": "v1"]).ok)
        #expect(try alice.call(["op": "create", "path": "/vault/new"]).ok)
        #expect(try alice.call(["op": "delete", "path": "/vault/new"]).ok)
        #expect(try alice.call(["op": "multi", "ops": [["op": "check", "path": "/vault", "version": 1]]]).ok)
        #expect(try alice.call(["op": "get_acl", "path": "/vault"]).ok)

        // The super user passes every check.
        let root = try client("super:admin")
        #expect(try root.call(["op": "get", "path": "/vault"])["data"] as? String == "v1")
        #expect(try root.call(["op": "delete", "path": "/vault/item"]).ok)
        #expect(try root.call(["op": "set_acl", "path": "/vault", "acl": [Self.entry(1, "world", "anyone")]]).ok)
        #expect(try mallory.call(["op": "get", "path": "/vault"])["data"] as? String == "v1", "READ now granted")
        #expect(try mallory.call(["op": "set", "path": "/vault", "data": "x"]).errorCode == "no_auth")
    }

    @Test("auth entries expand to the caller's ids, or are invalid_acl without any; bad ACLs are refused")
    func authExpansion() throws {
        let anonymous = try client()
        let anonymousCreate = try anonymous.call(["op": "create", "path": "/a", "acl": [Self.entry(31, "auth", "")]])
        #expect(anonymousCreate.errorCode == "invalid_acl", "an ip id is not an authenticated one")
        for bad in [
            [Self.entry(31, "world", "everyone")], [Self.entry(31, "digest", "no-colon")],
            [Self.entry(31, "ip", "10.0.0.300")], [Self.entry(31, "kerberos", "x")], [],
        ] {
            #expect(
                try anonymous.call(["op": "create", "path": "/a", "acl": bad]).errorCode == "invalid_acl", "\(bad)")
        }
        #expect(try anonymous.call(["op": "exists", "path": "/a"])["stat"] is NSNull)

        let bob = try client("bob:bobpw")
        #expect(try bob.call(["op": "create", "path": "/b", "acl": [Self.entry(31, "auth", "")]]).ok)
        let acl = try bob.call(["op": "get_acl", "path": "/b"])["acl"] as? [[String: Any]]
        #expect(acl?.count == 1)
        #expect(acl?.first?["scheme"] as? String == "digest" && acl?.first?["id"] as? String == Digests.bob)
        #expect(acl?.first?["perms"] as? Int == 31)
        // The same user, authenticated on another connection, passes it; a wrong password proves another id.
        #expect(try client("bob:bobpw").call(["op": "get", "path": "/b"]).ok)
        #expect(try client("bob:wrong").call(["op": "get", "path": "/b"]).errorCode == "no_auth")
    }

    @Test("get_acl needs READ or ADMIN and masks digests without ADMIN; aversion counts set_acl, checked after ADMIN")
    func getACLAndAversion() throws {
        let alice = try client("alice:alicepw")
        let reader = try client()
        let acl = [Self.entry(31, "digest", Digests.alice), Self.entry(1, "world", "anyone")]
        #expect(try alice.call(["op": "create", "path": "/m", "acl": acl]).ok)
        let masked = try reader.call(["op": "get_acl", "path": "/m"])
        let maskedIDs = (masked["acl"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
        #expect(maskedIDs == ["alice:x", "anyone"])
        let full = try alice.call(["op": "get_acl", "path": "/m"])
        #expect((full["acl"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [Digests.alice, "anyone"])
        #expect((full["stat"] as? [String: Any])?["aversion"] as? Int == 0)

        // Not even READ: no_auth.
        #expect(try alice.call(["op": "create", "path": "/m/private", "acl": [acl[0]]]).ok)
        #expect(try reader.call(["op": "get_acl", "path": "/m/private"]).errorCode == "no_auth")

        let open = [Self.entry(31, "world", "anyone")]
        // no_auth comes before bad_version.
        #expect(try reader.call(["op": "set_acl", "path": "/m", "acl": open, "aversion": 7]).errorCode == "no_auth")
        #expect(try alice.call(["op": "set_acl", "path": "/m", "acl": open, "aversion": 7]).errorCode == "bad_version")
        let set = try alice.call(["op": "set_acl", "path": "/m", "acl": acl, "aversion": 0])
        #expect((set["stat"] as? [String: Any])?["aversion"] as? Int == 1)
        #expect(try alice.call(["op": "set_acl", "path": "/m", "acl": acl, "aversion": 0]).errorCode == "bad_version")
        #expect(try alice.call(["op": "set_acl", "path": "/m", "acl": open, "aversion": 1]).ok)
        let after = try reader.call(["op": "get", "path": "/m"])
        #expect((after["stat"] as? [String: Any])?["aversion"] as? Int == 2)
        #expect((after["stat"] as? [String: Any])?["version"] as? Int == 0, "set_acl leaves the data version")
    }

    @Test("whoami names the connection's ids; a failed auth is auth_failed, logged without the secret")
    func whoAmIAndFailedAuth() throws {
        let c = try server.client()
        // auth and whoami need no session.
        let before = try c.call(["op": "whoami"])["ids"] as? [[String: String]]
        #expect(before == [["scheme": "ip", "id": "127.0.0.1"]])
        #expect(try c.call(["op": "auth", "scheme": "digest", "credentials": "bob:bobpw"]).ok)
        let after = try c.call(["op": "whoami"])["ids"] as? [[String: String]]
        #expect(after == [["scheme": "ip", "id": "127.0.0.1"], ["scheme": "digest", "id": Digests.bob]])

        let unknown = try c.call(["op": "auth", "scheme": "kerberos", "credentials": "s3cr3t-kerb"])
        #expect(unknown.errorCode == "auth_failed")
        let malformed = try c.call(["op": "auth", "scheme": "digest", "credentials": "no-colon-s3cr3t"])
        #expect(malformed.errorCode == "auth_failed")
        #expect(try c.call(["op": "ping"]).ok, "the connection goes on")
        let log = server.log.joined(separator: "\n")
        #expect(log.components(separatedBy: "auth failed").count - 1 == 2)
        #expect(!log.contains("s3cr3t") && !log.contains("bobpw"), "credentials reached the log")
    }

    @Test("stats, dump and snapshots need the super user or an operator once credentials are configured")
    func operatorOperations() throws {
        let anonymous = try client()
        let bob = try client("bob:bobpw")
        for c in [anonymous, bob] {
            for op in ["stats", "snapshots", "dump", "snapshot"] {
                #expect(try c.call(["op": op]).errorCode == "no_auth", "\(op)")
            }
        }
        let sessionless = try server.client()
        #expect(try sessionless.call(["op": "auth", "scheme": "digest", "credentials": "ops:opspw"]).ok)
        #expect(try sessionless.call(["op": "stats"]).ok)
        let ops = try client("ops:opspw")
        #expect(try ops.call(["op": "snapshots"]).ok)
        _ = try ops.send(["op": "dump"])
        var reply: [String: Any] = [:]
        while let line = try ops.readLine() {
            if line["ok"] != nil {
                reply = line
                break
            }
        }
        #expect(reply.ok && (reply["nodes"] as? Int ?? 0) >= 1, "an operator's dump: \(reply)")
        // An operator passes no ACL.
        #expect(try bob.call(["op": "create", "path": "/bobs", "acl": [Self.entry(31, "auth", "")]]).ok)
        #expect(try ops.call(["op": "get", "path": "/bobs"]).errorCode == "no_auth")
    }

    @Test("watch events and since_zxid replay never reach a watcher without READ on the node")
    func watchesFiltered() throws {
        let alice = try client("alice:alicepw")
        let watcher = try client()
        let aliceOnly = [Self.entry(31, "digest", Digests.alice)]
        #expect(try watcher.call(["op": "add_watch", "path": "/", "recursive": true]).ok)
        #expect(try watcher.call(["op": "exists", "path": "/hidden", "watch": true])["stat"] is NSNull)
        #expect(try alice.call(["op": "create", "path": "/hidden", "acl": aliceOnly]).ok)
        #expect(try alice.call(["op": "set", "path": "/hidden", "data": "x"]).ok)
        #expect(try alice.call(["op": "create", "path": "/hidden/child", "acl": aliceOnly]).ok)
        #expect(try alice.call(["op": "delete", "path": "/hidden/child"]).ok)
        #expect(try alice.call(["op": "create", "path": "/visible"]).ok)
        // The watcher's read of /visible is answered after the events of every change it reflects.
        #expect(try watcher.call(["op": "get", "path": "/visible"]).ok)
        let live = watcher.drainEvents().compactMap { $0["path"] as? String }
        #expect(live == ["/visible"], "events: \(live)")

        // The same history replayed from zxid 0 to a new watcher.
        let late = try client()
        let replay = try late.call(["op": "add_watch", "path": "/", "recursive": true, "since_zxid": 0])
        #expect(replay.ok)
        let replayed = late.drainEvents().compactMap { $0["path"] as? String }
        #expect(!replayed.contains { $0.hasPrefix("/hidden") }, "replayed: \(replayed)")
        #expect(replayed.contains("/visible"))
        // Alice hears it all.
        let aliceReplay = try alice.call(["op": "add_watch", "path": "/", "recursive": true, "since_zxid": 0])
        #expect(aliceReplay.ok)
        let aliceSaw = alice.drainEvents().compactMap { $0["path"] as? String }
        #expect(aliceSaw.contains("/hidden") && aliceSaw.contains("/visible"), "alice: \(aliceSaw)")
    }

    @Test("ACLs and aversion survive SIGKILL and restart")
    func survivesRestart() throws {
        let bob = try client("bob:bobpw")
        #expect(try bob.call(["op": "create", "path": "/kept", "data": "d", "acl": [Self.entry(19, "auth", "")]]).ok)
        #expect(try bob.call(["op": "set_acl", "path": "/kept", "acl": [Self.entry(31, "auth", "")]]).ok)
        server.kill()
        let restarted = try server.restarted()
        let anonymous = try restarted.client()
        try anonymous.connect()
        #expect(try anonymous.call(["op": "get", "path": "/kept"]).errorCode == "no_auth")
        let again = try restarted.client()
        try again.connect()
        #expect(try again.call(["op": "auth", "scheme": "digest", "credentials": "bob:bobpw"]).ok)
        let acl = try again.call(["op": "get_acl", "path": "/kept"])
        #expect((acl["acl"] as? [[String: Any]])?.first?["perms"] as? Int == 31)
        #expect((acl["stat"] as? [String: Any])?["aversion"] as? Int == 1)
    }
}

@Suite("Safe default: a non-loopback listener needs TLS or a super user, or --insecure")
struct SafeDefaultTests {
    let directory = TemporaryDirectory("cairn-safe-default")

    @Test("refused on 0.0.0.0 with neither, naming the flags; started with a super user or --insecure")
    func refusesInsecureListener() throws {
        let cairn = BuiltProducts.path(of: "cairn")
        let refused = try ChildProcess.run(
            "cairn", ["serve", "--data-dir", directory.appending("refused"), "--listen", "0.0.0.0:0"])
        #expect(refused.status == 2)
        let message = (refused.output + [refused.errorOutput]).joined(separator: "\n")
        for flag in ["--tls-cert", "--tls-key", "--super-digest", "--insecure"] {
            #expect(message.contains(flag), "the refusal names \(flag): \(message)")
        }
        #expect(!FileManager.default.fileExists(atPath: directory.appending("refused/wal")), "refused before opening")
        for extra in [["--insecure"], ["--super-digest", Digests.superUser]] {
            let server = try ChildProcess(
                cairn,
                [
                    "serve", "--data-dir", directory.appending("ok\(extra[0])"), "--listen", "0.0.0.0:0",
                    "--admin-listen", "none",
                ]
                    + extra)
            let listening = server.waitForOutput(seconds: 30) { $0.contains { $0.contains("cairn listening") } }
            server.kill()
            #expect(listening, "\(extra): \(server.output) \(server.errorOutput)")
        }
    }
}
