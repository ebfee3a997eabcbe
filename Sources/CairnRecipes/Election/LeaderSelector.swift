import Cairn

/// Leadership as a task, as Curator's `LeaderSelector`: candidates line up for a `DistributedLock` on `path` (its
/// nodes holding their participant text); the one that gets it runs `lead`, and gives leadership up when `lead`
/// returns — then lines up again — or at once, with `lead` cancelled, when the hold may be lost (its node deleted,
/// its session expired, its connection suspended past the grace).
public struct LeaderSelector: Sendable {
    public let client: CairnClient
    public let path: String
    public let participant: String
    private let suspendedGrace: Duration

    public init(client: CairnClient, path: String, participant: String, suspendedGrace: Duration = .zero) {
        self.client = client
        self.path = path
        self.participant = participant
        self.suspendedGrace = suspendedGrace
    }

    /// Stands for leadership until cancelled, running `lead` each time it is leader. An error `lead` throws ends the
    /// term (and is logged); it does not end `run`.
    public func run(_ lead: @escaping @Sendable () async throws -> Void) async throws {
        while !Task.isCancelled {
            let lock = DistributedLock(
                client: client, path: path, participant: participant, suspendedGrace: suspendedGrace)
            do {
                try await lock.acquire()
            } catch is CancellationError {
                return
            } catch {
                try await Task.sleep(for: .milliseconds(50))
                continue
            }
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        try await lead()
                    } catch {
                        client.logger.warning("leadership ended by an error", metadata: ["error": "\(error)"])
                    }
                }
                group.addTask { _ = await lock.lost() }
                await group.next()
                group.cancelAll()
            }
            await lock.release()
        }
    }

    /// The participant text of the candidate that leads at `path` now (the first in line), nil when none stands.
    public static func leader(at path: String, client: CairnClient) async throws -> String? {
        try await SequentialQueue(client: client, directory: path, prefix: "lock-").firstMemberText()
    }
}
