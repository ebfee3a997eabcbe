import Cairn

/// Why a recipe's wait ended without what it waited for.
public enum RecipeError: Error, Hashable {
    /// Not acquired (the lock, the lease, the barrier) within the timeout.
    case timedOut
}

/// A place taken in a `SequentialQueue` whose turn has come: the node's name and the zxid that created it.
struct Turn: Sendable, Hashable {
    var name: String
    var czxid: UInt64
}

extension SequentialQueue {
    /// Takes a place (`prefix`'s kind) and waits for its turn: `blocker` gets the members in line and this one's index,
    /// and names the member to wait for, or nil when the turn has come. A place whose node vanished (its session
    /// expired) is taken again. Past `deadline` it throws `RecipeError.timedOut`; cancelled, `CancellationError`;
    /// either way the place is left.
    func takeTurn(
        data: [UInt8] = [], prefix: String? = nil, until deadline: ContinuousClock.Instant?,
        blocker: @Sendable (_ members: [String], _ index: Int) -> String?
    ) async throws -> Turn {
        var name = try await enqueue(data: data, prefix: prefix)
        do {
            while true {
                let line = try await members()
                guard let index = line.firstIndex(of: name) else {
                    name = try await enqueue(data: data, prefix: prefix)
                    continue
                }
                if let ahead = blocker(line, index) {
                    try await waiting(until: deadline) { try await self.waitFor(predecessor: ahead) }
                    continue
                }
                guard let stat = try await client.exists(directory + "/" + name) else { continue }
                return Turn(name: name, czxid: stat.czxid)
            }
        } catch {
            await leave(name)
            throw error
        }
    }

    /// The member just ahead, for a turn that comes only when first in line.
    static func predecessor(_ members: [String], _ index: Int) -> String? { index == 0 ? nil : members[index - 1] }
}

/// Runs `wait` (a watch) until `deadline`; a connection loss while waiting only means "look again" once the client
/// is back. Throws `RecipeError.timedOut` past the deadline.
func waiting(until deadline: ContinuousClock.Instant?, _ wait: @escaping @Sendable () async throws -> Void)
    async throws
{
    try await withThrowingTaskGroup(of: Bool.self) { group in
        group.addTask {
            do {
                try await wait()
            } catch let error as ClientError where error == .connectionLoss || error == .sessionExpired {
                try await Task.sleep(for: .milliseconds(50))
            }
            return true
        }
        if let deadline {
            group.addTask {
                try await Task.sleep(until: deadline)
                return false
            }
        }
        defer { group.cancelAll() }
        guard try await group.next() == true else { throw RecipeError.timedOut }
    }
}
