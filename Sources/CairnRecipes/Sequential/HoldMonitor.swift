import Cairn

/// Why a hold (a lock held, a leadership) may be lost.
public enum HoldLoss: Sendable, Hashable {
    /// The hold's node was deleted (by its session's end, or by someone else).
    case nodeDeleted
    /// The session that owned the node expired: the node is gone with it.
    case sessionExpired
    /// The connection stayed suspended longer than the grace allowed: the session may have expired unseen.
    case suspended
}

/// Waits until a hold on the node at `path` may be lost, and says why: its node deleted, the session expired, or
/// the connection suspended for longer than `grace` (never, without one) without the same session coming back. Cancelling the waiting
/// task ends the wait with nil.
func holdLost(client: CairnClient, path: String, grace: Duration?) async -> HoldLoss? {
    let (losses, found) = AsyncStream<HoldLoss>.makeStream()
    let states = client.states()
    let watching = Task {
        while !Task.isCancelled {
            do {
                let (stat, watch) = try await client.existsAndWatch(path)
                guard stat != nil, try await watch.fired().type != .deleted else {
                    found.yield(.nodeDeleted)
                    return
                }
            } catch is CancellationError {
                return
            } catch {
                // The connection went with the watch: look again once it is back.
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
    }
    let connection = Task {
        var timer: Task<Void, Never>?
        defer { timer?.cancel() }
        for await state in states {
            switch state {
            case .expired:
                found.yield(.sessionExpired)
                return
            case .suspended:
                guard let grace else { continue }
                timer = Task {
                    guard (try? await Task.sleep(for: grace)) != nil else { return }
                    found.yield(.suspended)
                }
            case .reconnected, .connected:
                timer?.cancel()
                timer = nil
            }
        }
    }
    defer {
        watching.cancel()
        connection.cancel()
    }
    return await withTaskCancellationHandler {
        for await loss in losses { return loss }
        return nil
    } onCancel: {
        found.finish()
    }
}
