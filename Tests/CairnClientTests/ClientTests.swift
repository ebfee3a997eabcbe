import Cairn
import CairnCore
import CairnTesting
import Testing

/// A client configured for a test server: short timeouts so failures show fast.
func clientConfiguration(_ server: ServerProcess, sessionTimeout: Duration = .seconds(5)) -> CairnClient.Configuration {
    var configuration = CairnClient.Configuration(port: server.port)
    configuration.sessionTimeout = sessionTimeout
    configuration.requestTimeout = .seconds(15)
    return configuration
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

@Suite("Client: ops, typed errors, watches, reconnects")
struct ClientTests {
    let directory = TemporaryDirectory("cairn-client")
    let server: ServerProcess

    init() throws { server = try ServerProcess(dataDirectory: directory.appending("data")) }

    @Test("every op works and server errors arrive as typed codes")
    func operations() async throws {
        try await CairnClient.withClient(clientConfiguration(server)) { client in
            try await client.create("/app", data: bytes("v1"))
            #expect(try await client.get("/app").text == "v1")
            let binary: [UInt8] = [0, 255, 7]
            let stat = try await client.set("/app", data: binary, version: 0)
            #expect(stat.version == 1)
            #expect(try await client.get("/app").data == binary)
            await #expect(throws: ClientError.self) { try await client.create("/app") }
            do {
                try await client.set("/app", data: [], version: 0)
            } catch let error as ClientError {
                #expect(error.code == .badVersion)
            }
            let seq = try await client.create("/app/n-", mode: .ephemeral, sequential: true)
            #expect(seq == "/app/n-0000000000")
            #expect(try await client.children("/app") == ["n-0000000000"])
            #expect(try await client.exists("/nope") == nil)
            let results = try await client.multi([.check("/app", version: 1), .create("/app/m"), .delete("/app/m")])
            #expect(results.count == 3 && results[2] == .deleted)
            do {
                try await client.multi([.create("/app/x"), .delete("/app/missing")])
                Issue.record("multi succeeded")
            } catch let error as ClientError {
                guard case .server(.noNode, _, let index, _) = error else {
                    Issue.record("\(error)")
                    return
                }
                #expect(index == 1)
            }
            #expect(try await client.exists("/app/x") == nil)
            try await client.createParents("/a/b/c")
            #expect(try await client.exists("/a/b/c") != nil)
            let reads = try await client.readMulti([.get("/app"), .children("/a"), .get("/gone")])
            #expect(reads.count == 3)
            if case .node(let node) = reads[0] { #expect(node.data == binary) } else { Issue.record("\(reads[0])") }
            if case .children(let names, let stat) = reads[1] {
                #expect(names == ["b"] && stat.numChildren == 1)
            } else {
                Issue.record("\(reads[1])")
            }
            if case .failed(let error) = reads[2] {
                #expect(error.code == .noNode)
            } else {
                Issue.record("\(reads[2])")
            }
            #expect(try await client.sync() > 0)
            #expect(try await client.stats().sessions == 1)
        }
    }

    @Test("one-shot watches fire once; persistent watches stream every change")
    func watches() async throws {
        try await CairnClient.withClient(clientConfiguration(server)) { client in
            try await client.create("/w", data: bytes("0"))
            let (_, watch) = try await client.getAndWatch("/w")
            try await client.set("/w", data: bytes("1"))
            let event = try await watch.fired()
            #expect(event.type == .dataChanged && event.path == "/w")

            let stream = try await client.watch("/w", recursive: true)
            try await client.create("/w/a")
            try await client.set("/w/a", data: bytes("x"))
            try await client.delete("/w/a")
            var seen: [String] = []
            for try await event in stream {
                seen.append("\(event.type.rawValue) \(event.path)")
                if seen.count == 3 { break }
            }
            #expect(seen == ["created /w/a", "data_changed /w/a", "deleted /w/a"])
        }
    }
}

@Suite("Client across server restarts")
struct ClientRestartTests {
    @Test("credentials are sent again on every new connection: an ACL naming them still admits the client")
    func authenticationResent() async throws {
        let directory = TemporaryDirectory("cairn-client-auth")
        var server = try ServerProcess(dataDirectory: directory.appending("data"))
        let port = server.port
        var configuration = clientConfiguration(server, sessionTimeout: .seconds(4))
        configuration.authentication = [.digest("bob:bobpw")]
        try await CairnClient.withClient(configuration) { client in
            try await client.create(
                "/bobs", data: bytes("mine"), acl: [ACLEntry(.all, Principal(scheme: "auth", id: ""))])
            let (acl, _) = try await client.getACL("/bobs")
            #expect(acl.map(\.principal.scheme) == ["digest"], "auth expanded to bob's digest id")
            try await client.addAuth(.digest("carol:carolpw"))
            let states = client.states()
            server.kill()
            server = try ServerProcess(dataDirectory: directory.appending("data"), port: port)
            for await state in states where state == .reconnected || state == .expired { break }
            #expect(try await client.get("/bobs").text == "mine")
            let ids = try await client.whoAmI().map(\.id)
            #expect(ids.contains { $0.hasPrefix("bob:") } && ids.contains { $0.hasPrefix("carol:") })
        }
        let anonymous = try server.client()
        try anonymous.connect()
        #expect(try anonymous.call(["op": "get", "path": "/bobs"]).errorCode == "no_auth")
    }

    @Test("a client in use survives a server restart: same session, ephemerals kept, no watch event missed")
    func survivesRestart() async throws {
        let directory = TemporaryDirectory("cairn-client-restart")
        var server = try ServerProcess(dataDirectory: directory.appending("data"))
        let port = server.port
        try await CairnClient.withClient(clientConfiguration(server, sessionTimeout: .seconds(4))) { client in
            try await client.create("/svc")
            let states = client.states()
            let mine = try await client.create("/svc/i-", mode: .ephemeral, sequential: true)
            let session = client.sessionID
            let events = try await client.watch("/svc", recursive: true)
            server.kill()
            server = try ServerProcess(dataDirectory: directory.appending("data"), port: port)
            // A change made while the client was away must still reach its watch.
            let other = try server.client()
            try other.connect()
            try other.call(["op": "create", "path": "/svc/while-away"])
            var seenStates: [ConnectionState] = []
            for await state in states {
                seenStates.append(state)
                if state == .reconnected || state == .expired { break }
            }
            #expect(seenStates == [.suspended, .reconnected])
            #expect(client.sessionID == session)
            #expect(try await client.exists(mine) != nil, "the ephemeral survived the restart")
            try await client.create("/svc/after")
            var paths: [String] = []
            for try await event in events {
                paths.append(event.path)
                if paths.count == 2 { break }
            }
            #expect(paths == ["/svc/while-away", "/svc/after"])
        }
        withExtendedLifetime(server) {}
    }
}
