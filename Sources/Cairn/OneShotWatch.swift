import CairnCore
import CairnProtocol
import Synchronization

/// A one-shot watch set by `getAndWatch`, `existsAndWatch` or `childrenAndWatch`: fires once.
public final class OneShotWatch: Sendable {
    enum Kind: Sendable { case data, child }

    let path: ZNodePath
    let kind: Kind
    private let state = Mutex<
        (result: Result<WatchEvent, ClientError>?, waiter: CheckedContinuation<WatchEvent, any Error>?)
    >((nil, nil))

    init(path: ZNodePath, kind: Kind) {
        self.path = path
        self.kind = kind
    }

    /// Waits for the event. Throws `ClientError.connectionLoss` when the connection (and so the server's
    /// watch) went first: read again and set a new watch.
    /// Cancelling the waiting task ends the wait with `CancellationError`.
    public func fired() async throws -> WatchEvent {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let ready = state.withLock { state -> Result<WatchEvent, any Error>? in
                    if let result = state.result { return result.mapError { $0 } }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(with: ready) }
            }
        } onCancel: {
            state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }?.resume(throwing: CancellationError())
        }
    }

    /// Whether a notification reaches this watch (ZooKeeper's rules, shared with the server).
    func matches(_ notification: WatchNotification) -> Bool {
        notification.path == path && (kind == .data ? notification.reachesDataWatch : notification.reachesChildWatch)
    }

    func complete(_ result: Result<WatchEvent, ClientError>) {
        let waiter = state.withLock { state -> CheckedContinuation<WatchEvent, any Error>? in
            guard state.result == nil else { return nil }
            state.result = result
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(with: result.mapError { $0 })
    }
}
