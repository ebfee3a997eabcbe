import Cairn
import Synchronization

/// Leader election: candidates are ephemeral sequential nodes under `/election/<name>/`; the lowest is
/// leader; each candidate watches only its predecessor (no herd effect). Losing the connection means
/// "not leader" until the session is known to be intact again.
public final class LeaderElection: Sendable {
    private let client: CairnClient
    private let queue: SequentialQueue
    private let candidate: [UInt8]
    /// Whether this candidate leads, and who is told of changes: one lock, so a new listener gets the
    /// current value and every change after it, none missed.
    private let state = Mutex<(leader: Bool, listeners: [AsyncStream<Bool>.Continuation])>((false, []))

    /// `candidate` is stored in the candidate's node (who is running, e.g. host:port).
    public init(client: CairnClient, name: String, candidate: String) {
        self.client = client
        queue = SequentialQueue(client: client, directory: "/election/" + name, prefix: "candidate-")
        self.candidate = Array(candidate.utf8)
    }

    public var isLeader: Bool { state.withLock { $0.leader } }

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
        let states = client.states()
        var name: String?
        defer { set(false) }
        while !Task.isCancelled {
            do {
                if name == nil { name = try await queue.enqueue(data: candidate) }
                switch try await queue.position(of: name!) {
                case .gone:
                    set(false)
                    name = nil
                case .behind(let predecessor):
                    set(false)
                    try await queue.waitFor(predecessor: predecessor)
                case .first:
                    set(true)
                    // Leader until the connection says otherwise.
                    for await state in states {
                        if state == .suspended || state == .expired { set(false) }
                        if state == .expired { name = nil }
                        if state != .suspended { break }
                    }
                }
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
