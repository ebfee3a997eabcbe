import Cairn

/// A read-write lock across processes, as Curator's `InterProcessReadWriteLock` (same node names: `__READ__` and
/// `__WRIT__` participants in one line under `/locks/<name>/`): any number of readers hold it together while no
/// writer is ahead of them in line; a writer holds it alone, once first in line. Writers ahead are served first, so
/// a stream of readers cannot starve a writer.
public final class ReadWriteLock: Sendable {
    static let readPrefix = "__READ__"
    static let writePrefix = "__WRIT__"

    /// The shared side.
    public let readLock: Side
    /// The exclusive side.
    public let writeLock: Side

    public convenience init(client: CairnClient, name: String, suspendedGrace: Duration = .zero) {
        self.init(client: client, path: "/locks/" + name, suspendedGrace: suspendedGrace)
    }

    public init(client: CairnClient, path: String, suspendedGrace: Duration = .zero) {
        let queue = SequentialQueue(client: client, directory: path, prefixes: [Self.readPrefix, Self.writePrefix])
        readLock = Side(queue: queue, prefix: Self.readPrefix, suspendedGrace: suspendedGrace)
        writeLock = Side(queue: queue, prefix: Self.writePrefix, suspendedGrace: suspendedGrace)
    }

    /// One side of the lock: acquired and released as a `DistributedLock` is (re-entrant per side and instance).
    public final class Side: Sendable {
        private let queue: SequentialQueue
        private let prefix: String
        private let hold: Hold

        init(queue: SequentialQueue, prefix: String, suspendedGrace: Duration) {
            self.queue = queue
            self.prefix = prefix
            hold = Hold(queue: queue, suspendedGrace: suspendedGrace)
        }

        /// Waits for this side, up to `timeout`; throws `RecipeError.timedOut` (leaving the line) past it.
        public func acquire(timeout: Duration? = nil) async throws {
            let (queue, prefix) = (queue, prefix)
            try await hold.acquire(timeout: timeout) { deadline in
                try await queue.takeTurn(prefix: prefix, until: deadline) { members, index in
                    guard prefix == ReadWriteLock.readPrefix else { return SequentialQueue.predecessor(members, index) }
                    // A reader waits for the last writer ahead of it; readers ahead do not block it.
                    return members[..<index].last { queue.kind(of: $0) == ReadWriteLock.writePrefix }
                }
            }
        }

        public func release() async { await hold.release() }

        /// The zxid that created this side's node while held (see `DistributedLock.fencingToken`).
        public var fencingToken: UInt64? { hold.turn?.czxid }

        /// While held, waits until the hold may be lost and says why (see `DistributedLock.lost()`).
        public func lost() async -> HoldLoss? { await hold.lost() }
    }
}
