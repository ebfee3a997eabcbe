import Cairn
import CairnTesting
import Foundation
import Testing

/// The faults recipes exist for, on a real server: clients reach it through proxies of their own, which drop a
/// reply at the worst moment or cut the client off until its session expires, and the server can be SIGKILLed and
/// restarted on its port and data directory.
final class RecipeFaults: @unchecked Sendable {
    let directory = TemporaryDirectory("cairn-faults")
    /// Replaced by `restartServer()`; read and restarted by the test's own task only.
    private(set) var server: ServerProcess

    init() throws { server = try ServerProcess(dataDirectory: directory.appending("data")) }

    /// A running client through a new proxy (dropping the first reply `drops` picks once armed), for `body`.
    func withClient<T: Sendable>(
        sessionTimeout: Duration = .seconds(5), dropping drops: @escaping @Sendable (String) -> Bool = { _ in false },
        _ body: (CairnClient, DroppingProxy) async throws -> T
    ) async throws -> T {
        let proxy = try DroppingProxy(to: server.port, dropping: drops)
        var configuration = clientConfiguration(server, sessionTimeout: sessionTimeout)
        configuration.addresses = [CairnClient.Address(host: "127.0.0.1", port: proxy.port)]
        configuration.maxBackoff = .milliseconds(200)
        let client = CairnClient(configuration: configuration)
        let running = Task { try await client.run() }
        defer { running.cancel() }
        do {
            let result = try await body(client, proxy)
            await client.close()
            return result
        } catch {
            await client.close()
            throw error
        }
    }

    /// Running clients straight to the server, for `body`.
    func withClients<T: Sendable>(_ count: Int, _ body: ([CairnClient]) async throws -> T) async throws -> T {
        let clients = (0..<count).map { _ in CairnClient(configuration: clientConfiguration(server)) }
        let running = clients.map { client in Task { try await client.run() } }
        defer { for task in running { task.cancel() } }
        let result = try await body(clients)
        for client in clients { await client.close() }
        return result
    }

    /// Cuts `client` off until the server has expired its session, then lets it back: it hears `expired`, then
    /// `connected` with a new session, before this returns.
    func expireSession(of client: CairnClient, through proxy: DroppingProxy) async throws {
        let session = try #require(client.sessionID)
        let states = client.states()
        proxy.partition()
        try await CairnClient.withClient(clientConfiguration(server)) { observer in
            try await waitUntil("the session expired on the server") {
                try await !observer.sessions().contains { $0.id.hex == session }
            }
        }
        proxy.heal()
        var seen: [ConnectionState] = []
        for await state in states {
            seen.append(state)
            if state == .connected { break }
        }
        #expect(seen.contains(.expired), "told of the expiry: \(seen)")
    }

    /// SIGKILL, and a new server on the same port and data directory.
    func restartServer() throws {
        let port = server.port
        server.kill()
        server = try ServerProcess(dataDirectory: directory.appending("data"), port: port)
    }
}

/// A dropping rule for the first reply to a create under `directory`.
func createReply(under directory: String) -> @Sendable (String) -> Bool {
    { line in line.contains(#""op":"create""#) && line.contains(#""path":"\#(directory)/"#) }
}
