import ArgumentParser
import Cairn
import CairnRecipes

#if canImport(Glibc)
import Glibc
#endif

/// One candidate of a leader election: prints `leader <id>` when it leads and `follower <id>` when not.
@main
struct ElectionDemo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "election-demo", abstract: "Run one candidate of a leader election on a Cairn server.")

    @Option(help: "Cairn server host.") var host = "127.0.0.1"
    @Option(help: "Cairn server port.") var port = 4181
    @Option(help: "Election name (candidates go under /election/<name>/).") var name = "demo"
    @Option(help: "This candidate's id.") var id: String
    @Option(help: "Session timeout, ms: how long a dead leader keeps its place.") var sessionTimeoutMs = 2000

    func run() async throws {
        var configuration = CairnClient.Configuration(host: host, port: port)
        configuration.sessionTimeout = .milliseconds(sessionTimeoutMs)
        try await CairnClient.withClient(configuration) { client in
            let election = LeaderElection(client: client, name: name, candidate: id)
            say("candidate \(id) joined")
            // Subscribed before the election runs, so no change is missed.
            let changes = election.leadership()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await election.run() }
                group.addTask {
                    for await leading in changes {
                        say(leading ? "leader \(id)" : "follower \(id)")
                    }
                }
                try await group.next()
            }
        }
    }
}

/// One line on stdout, unbuffered, so a reader sees it at once (and a kill -9 loses none).
func say(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}
