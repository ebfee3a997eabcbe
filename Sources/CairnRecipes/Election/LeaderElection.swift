import Cairn
import Synchronization

/// Leader election, as Curator's `LeaderLatch` (same node names, so Java and Swift candidates stand in one election
/// on one path): candidates are ephemeral sequential nodes `_c_<GUID>-latch-<seq>` under `/election/<name>/`, each
/// holding its candidate text; the lowest is leader; each candidate watches only its predecessor (no herd effect). A leader stops leading at once when its
/// node is deleted or its session expires (then it stands again), and when its connection stays suspended past the
/// grace, until it is known to be first again.
public final class LeaderElection: Sendable {
    private let client: CairnClient
    private let queue: SequentialQueue
    private let candidate: [UInt8]
    /// Whether this candidate leads, and who is told of changes: one lock, so a new listener gets the
    /// current value and every change after it, none missed.
    private let state = Mutex<(leader: Bool, listeners: [AsyncStream<Bool>.Continuation])>((false, []))

    /// How long a suspended connection may last before the leader stops claiming to lead.
    private let suspendedGrace: Duration

    /// `candidate` is stored in the candidate's node (who is running, e.g. host:port). A leader whose connection is
    /// suspended stops leading after `suspendedGrace` (at once by default: its session may expire unseen).
    public convenience init(client: CairnClient, name: String, candidate: String, suspendedGrace: Duration = .zero) {
        self.init(client: client, path: "/election/" + name, candidate: candidate, suspendedGrace: suspendedGrace)
    }

    /// An election in the directory `path` (Curator's latch path).
    public init(client: CairnClient, path: String, candidate: String, suspendedGrace: Duration = .zero) {
        self.client = client
        queue = SequentialQueue(client: client, directory: path, prefix: "latch-")
        self.candidate = Array(candidate.utf8)
        self.suspendedGrace = suspendedGrace
    }

    public var isLeader: Bool { state.withLock { $0.leader } }

    /// Who leads election `name` now, as anyone (a candidate or not) reads it: the `candidate` text of the first
    /// candidate's node; nil when no candidate stands.
    public static func leader(of name: String, client: CairnClient) async throws -> String? {
        try await leader(at: "/election/" + name, client: client)
    }

    /// Who leads the election in the directory `path` (see `leader(of:client:)`).
    public static func leader(at path: String, client: CairnClient) async throws -> String? {
        try await SequentialQueue(client: client, directory: path, prefix: "latch-").firstMemberText()
    }

    /// true when this candidate becomes leader, false when it stops being (or is not known to be) leader.
    public func leadership() -> AsyncStream<Bool> {
        let (stream, continuation) = AsyncStream<Bool>.makeStream()
        state.withLock { state in
            continuation.yield(state.leader)
            state.listeners.append(continuation)
        }
        return stream
    }

    /// Takes part in the election until cancelled; then withdraws.
    public func run() async throws {
        var name: String?
        defer { set(false) }
        while !Task.isCancelled {
            do {
                if name == nil { name = try await queue.enqueue(data: candidate) }
                let line = try await queue.members()
                guard let index = line.firstIndex(of: name!) else {
                    set(false)
                    name = nil
                    continue
                }
                if let predecessor = SequentialQueue.predecessor(line, index) {
                    set(false)
                    try await queue.waitFor(predecessor: predecessor)
                    continue
                }
                set(true)
                // Leader until its node goes, its session expires or its connection stays suspended too long.
                let loss = await holdLost(client: client, path: queue.directory + "/" + name!, grace: suspendedGrace)
                set(false)
                if loss == nil { break }
                // Suspended: the next round finds out, once connected again, whether the node is still first.
                if loss != .suspended { name = nil }
            } catch is CancellationError {
                break
            } catch {
                set(false)
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        if let name { await queue.leave(name) }
    }

    private func set(_ value: Bool) {
        state.withLock { state in
            guard state.leader != value else { return }
            state.leader = value
            for listener in state.listeners { listener.yield(value) }
        }
    }
}
