import CairnCore
import CairnProtocol
import Synchronization

/// A persistent watch's local end: matches pushed events to its path and remembers the last zxid it
/// delivered, so that after a reconnect it re-registers with `since_zxid` and misses nothing.
final class PersistentWatch: Sendable {
    let path: ZNodePath
    let recursive: Bool
    private let continuation: AsyncThrowingStream<WatchEvent, any Error>.Continuation
    private let last: Mutex<UInt64?>

    init(
        path: ZNodePath, recursive: Bool, since: UInt64?,
        continuation: AsyncThrowingStream<WatchEvent, any Error>.Continuation
    ) {
        self.path = path
        self.recursive = recursive
        self.continuation = continuation
        last = Mutex(since)
    }

    /// The zxid to resume from: the last event delivered, or the zxid the watch was set at.
    var lastZxid: UInt64? { last.withLock { $0 } }

    func registered(at zxid: UInt64) { last.withLock { if $0 == nil || $0! < zxid { $0 = zxid } } }

    func deliver(_ notification: WatchNotification, _ event: WatchEvent) {
        guard notification.reaches(persistentWatchOn: path, recursive: recursive) else { return }
        last.withLock { $0 = max($0 ?? 0, event.zxid) }
        continuation.yield(event)
    }

    func finish(throwing error: (any Error)?) { continuation.finish(throwing: error) }
}

extension CairnClient {
    /// A persistent watch on `path` (with `recursive`, on its whole subtree) as an async sequence of
    /// events. With `since`, changes after that zxid are replayed first. The watch is re-set after every
    /// reconnect, resuming after the last event delivered, so none is missed; the sequence ends with
    /// `compacted` if the server no longer has that history, and when the task iterating it is cancelled.
    public func watch(_ path: String, recursive: Bool = false, since: UInt64? = nil) async throws
        -> AsyncThrowingStream<WatchEvent, any Error>
    {
        let path = try ZNodePath(path)
        let (stream, continuation) = AsyncThrowingStream<WatchEvent, any Error>.makeStream()
        let watch = PersistentWatch(path: path, recursive: recursive, since: since, continuation: continuation)
        let id = state.withLock { s in
            defer { s.nextPersistent += 1 }
            s.persistent[s.nextPersistent] = watch
            return s.nextPersistent
        }
        continuation.onTermination = { [weak self] _ in
            guard let self, let removed = state.withLock({ $0.persistent.removeValue(forKey: id) }) else { return }
            self.post(.removeWatch(removed.path, .any))
        }
        do {
            try await register(watch)
        } catch {
            state.withLock { _ = $0.persistent.removeValue(forKey: id) }
            throw error
        }
        return stream
    }

    private func register(_ watch: PersistentWatch) async throws {
        let (zxid, _) = try await call(.addWatch(watch.path, recursive: watch.recursive, since: watch.lastZxid))
        watch.registered(at: zxid)
    }

    /// After a reconnect: every persistent watch is set again, resuming after its last event.
    func reRegisterWatches() async {
        for (id, watch) in state.withLock({ $0.persistent }) {
            do {
                try await register(watch)
            } catch let error as ClientError where error.code == .compacted {
                state.withLock { _ = $0.persistent.removeValue(forKey: id) }
                watch.finish(throwing: error)
            } catch {
                logger.debug(
                    "re-setting a watch failed; retried at the next reconnect", metadata: ["error": "\(error)"])
            }
        }
    }
}
