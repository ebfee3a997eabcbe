import Cairn
import Synchronization

/// Mutual exclusion across processes, as Curator's `InterProcessMutex` (same node names, so the two exclude each other
/// on one path): ephemeral sequential nodes `_c_<GUID>-lock-<seq>` under `/locks/<name>/`; the lowest holds the lock,
/// each waiter watches only its predecessor. A holder whose session expires loses the lock (its node goes).
public final class DistributedLock: Sendable {
    public typealias Error = RecipeError

    private let queue: SequentialQueue
    private let hold: Hold

    /// `suspendedGrace`: how long the holder's connection may stay suspended before `lost()` reports it (at once by
    /// default: the session may expire unseen meanwhile).
    public convenience init(client: CairnClient, name: String, suspendedGrace: Duration = .zero) {
        self.init(client: client, path: "/locks/" + name, suspendedGrace: suspendedGrace)
    }

    /// A lock on the directory `path` (Curator's lock path); `participant` is stored in this holder's node (Curator's
    /// lock node bytes: who holds or waits).
    public init(client: CairnClient, path: String, participant: String = "", suspendedGrace: Duration = .zero) {
        queue = SequentialQueue(client: client, directory: path, prefix: "lock-")
        self.participant = Array(participant.utf8)
        hold = Hold(queue: queue, suspendedGrace: suspendedGrace)
    }

    private let participant: [UInt8]

    /// While the lock is held: waits until it may have been lost and says why — its node deleted, its session
    /// expired, or its connection suspended past the grace. A holder should stop touching the guarded resource then.
    /// nil when the lock is not held, or is released meanwhile.
    public func lost() async -> HoldLoss? { await hold.lost() }

    /// While the lock is held, the zxid that created its node: it only grows from one holder to the next, so the
    /// resource the lock guards can refuse a write that carries a token lower than one it has seen (a holder that
    /// lost the lock without knowing it, e.g. after a long pause).
    public var fencingToken: UInt64? { hold.turn?.czxid }

    /// Waits for the lock, up to `timeout` (forever without one); throws `RecipeError.timedOut` (and leaves the queue)
    /// past it. Re-entrant: a holder that acquires again holds it once more, and keeps it until it has released as
    /// often.
    public func acquire(timeout: Duration? = nil) async throws {
        try await hold.acquire(timeout: timeout) { deadline in
            try await self.queue.takeTurn(data: self.participant, until: deadline, blocker: SequentialQueue.predecessor)
        }
    }

    /// Releases one acquisition; the last one gives the lock up.
    public func release() async { await hold.release() }

    /// Runs `body` holding the lock, and releases it after, even when `body` throws.
    public func withLock<T: Sendable>(timeout: Duration? = nil, _ body: () async throws -> T) async throws -> T {
        try await acquire(timeout: timeout)
        do {
            let result = try await body()
            await release()
            return result
        } catch {
            await release()
            throw error
        }
    }
}

/// What a lock-like recipe holds: its turn, counted re-entrantly, and how to learn it may be lost.
final class Hold: Sendable {
    private let queue: SequentialQueue
    private let suspendedGrace: Duration
    /// While held: the turn and how many acquisitions are not yet released.
    private let held = Mutex<(turn: Turn, count: Int)?>(nil)

    init(queue: SequentialQueue, suspendedGrace: Duration) {
        self.queue = queue
        self.suspendedGrace = suspendedGrace
    }

    var turn: Turn? { held.withLock { $0?.turn } }

    /// Counts one more acquisition when held, else takes a turn (`take`, given the deadline).
    func acquire(timeout: Duration?, _ take: (ContinuousClock.Instant?) async throws -> Turn) async throws {
        let reentered = held.withLock { hold in
            guard hold != nil else { return false }
            hold!.count += 1
            return true
        }
        if reentered { return }
        let turn = try await take(timeout.map { ContinuousClock.now + $0 })
        held.withLock { $0 = (turn, 1) }
    }

    func release() async {
        let last: String? = held.withLock { hold in
            guard let current = hold else { return nil }
            guard current.count == 1 else {
                hold!.count -= 1
                return nil
            }
            hold = nil
            return current.turn.name
        }
        if let last { await queue.leave(last) }
    }

    func lost() async -> HoldLoss? {
        guard let name = turn?.name else { return nil }
        let loss = await holdLost(client: queue.client, path: queue.directory + "/" + name, grace: suspendedGrace)
        return turn?.name == name ? loss : nil
    }
}
