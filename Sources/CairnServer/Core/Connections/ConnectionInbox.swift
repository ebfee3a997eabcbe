import CairnCore
import CairnProtocol
import NIOCore
import Synchronization

/// What other threads hand one connection — answers (its changes' from the writer thread, the later ones'),
/// watch events, a close — delivered on its event loop in the order they were handed over.
///
/// One event-loop task per burst, not per item: the writer completes hundreds of changes per batch, and
/// the connection takes them all (and flushes once) when its task runs. Watch events of a batch are posted
/// before the batch's outcomes, so a client hears of a change before any reply that reflects it.
final class ConnectionInbox: Sendable {
    enum Item: Sendable {
        /// The answer to the request in a slot (see `ConnectionStateMachine`).
        case answered(ConnectionStateMachine.Slot, Answer)
        /// Watch events, session expiry.
        case events([PushedEvent])
        /// Close the connection once the items before this one are written.
        case close
        /// Stop reading; close once every request read so far is answered (the server is shutting down).
        case drain
    }

    /// The user event that tells the connection's handler to `take()` what was posted.
    struct Ready: Sendable {}

    private let channel: any Channel
    /// `scheduled`: a `Ready` is on its way, so a post needs no new event-loop task.
    private let state = Mutex<(items: [Item], scheduled: Bool)>(([], false))

    init(channel: any Channel) { self.channel = channel }

    func post(_ item: Item) {
        let schedule = state.withLock { state in
            state.items.append(item)
            defer { state.scheduled = true }
            return !state.scheduled
        }
        guard schedule else { return }
        let channel = self.channel
        channel.eventLoop.execute { channel.pipeline.fireUserInboundEventTriggered(Ready()) }
    }

    /// Everything posted so far, oldest first; the next post schedules a new delivery.
    func take() -> [Item] {
        state.withLock { state in
            state.scheduled = false
            let items = state.items
            state.items = []
            return items
        }
    }
}
