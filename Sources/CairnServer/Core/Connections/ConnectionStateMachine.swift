import CairnCore
import CairnProtocol
import NIOCore

/// The order of one connection's requests and replies, as a plain state machine (swift-nio's pattern): a front end
/// tells it what happened (a request decoded, an answer ready, the socket wants reading, a drain, the channel
/// closed), then does what `nextAction()` returns until it returns nil. No I/O, no clock, no wire format.
///
/// Rules:
/// - Replies go out in request order: each request started takes a slot, and a slot's answer is written once every
///   slot before it has been.
/// - Changes are pipelined: one starts while earlier changes are still in the store (it keeps their order).
///   Anything else starts only once every earlier request is answered, so a read sees the writes sent ahead of it;
///   and while it is unanswered (connect, a replay, a stream complete later) nothing behind it starts.
/// - Backpressure: with `maxInFlight` requests read and unanswered, the socket is not read until half of them are.
/// - Draining (the server stops): what arrives is discarded; once everything read before is answered, the
///   connection half-closes.
struct ConnectionStateMachine {
    typealias Slot = UInt64

    /// A request as the front end decoded it, or the error to answer it with.
    struct Received: Sendable {
        var id: Int64?
        var request: Result<ClientRequest, CairnError>
        /// After answering, close: the stream cannot be trusted (an oversized line).
        var closesConnection = false

        init(id: Int64?, _ request: Result<ClientRequest, CairnError>, closesConnection: Bool = false) {
            self.id = id
            self.request = request
            self.closesConnection = closesConnection
        }
    }

    enum Action {
        /// Run the request, then report its answer with `answered(_:_:)`, now or when it arrives.
        case execute(Slot, ClientRequest)
        /// Write the answer to the request with `id`.
        case write(id: Int64?, Answer)
        /// Read the socket again (it was held back).
        case resumeReading
        case close
        /// Half-close: the client gets what was written, though it may still be sending.
        case closeAfterReplies
    }

    private enum State {
        case open
        /// Stop reading; close once everything read is answered.
        case draining
        /// A close was returned; nothing more happens.
        case closed
    }

    private struct Started {
        var slot: Slot
        var id: Int64?
        var isChange: Bool
        /// Its answer came before the answers ahead of it, and waits in `early`.
        var answered = false
    }

    let maxInFlight: Int
    private var state = State.open
    /// Read, not started.
    private var queue = CircularBuffer<Received>()
    /// Started, answer not written yet; oldest first.
    private var started = CircularBuffer<Started>()
    /// Answers that came before their turn, by slot (kept apart, so a `Started` stays small to copy).
    private var early: [Slot: Answer] = [:]
    private var nextSlot: Slot = 0
    /// Started requests other than changes, unanswered: while there is one, nothing starts.
    private var blocking = 0
    private var readHeld = false
    /// A close the written answers asked for, returned once they are out.
    private var closeDue: Action?

    init(maxInFlight: Int) { self.maxInFlight = maxInFlight }

    /// Requests read and not yet answered.
    var inFlight: Int { queue.count + started.count }

    /// Whether the socket may be read now; false holds the read back until `resumeReading`.
    mutating func readWanted() -> Bool {
        guard case .open = state else { return true }  // draining reads on, to discard; closed reads nothing
        if inFlight >= maxInFlight {
            readHeld = true
            return false
        }
        return true
    }

    /// Queues a request that could not start at once (`startNow`), or an error to answer in its turn; `nextAction()`
    /// starts it when its turn comes.
    mutating func received(_ request: Received) {
        guard case .open = state else { return }
        queue.append(request)
    }

    /// A well-formed request just read: its slot when it starts now (nothing is queued before it and its turn has
    /// come; the front end runs it without a copy into and out of the queue); nil when it must wait, and the front
    /// end hands it to `received`.
    mutating func startNow(id: Int64?, isChange: Bool) -> Slot? {
        guard case .open = state, queue.isEmpty, closeDue == nil, blocking == 0, isChange || started.isEmpty else {
            return nil
        }
        return start(id: id, isChange: isChange)
    }

    private mutating func start(id: Int64?, isChange: Bool, answered: Bool = false) -> Slot {
        let slot = nextSlot
        nextSlot += 1
        started.append(Started(slot: slot, id: id, isChange: isChange, answered: answered))
        if !isChange { blocking += 1 }
        return slot
    }

    /// Whether an answer is written now, or kept for its turn.
    enum Turn {
        case now(id: Int64?)
        case kept
    }

    /// The answer to the request in `slot` (its change completed, its read ran, the session opened...). Handed back
    /// `.now` when it is to be written now (its slot is the oldest unanswered one): the front end writes it, then goes
    /// on with `nextAction()`. Else it is kept until its turn comes (`.write`).
    mutating func answered(_ slot: Slot, _ answer: Answer) -> Turn {
        if case .closed = state { return .kept }
        guard let first = started.first, slot >= first.slot, slot - first.slot < started.count else { return .kept }
        if slot == first.slot {
            // The common case, a read or the oldest change: written at once, never stored.
            if !first.isChange { blocking -= 1 }
            started.removeFirst()
            noteClose(answer.then)
            return .now(id: first.id)
        }
        let index = started.index(started.startIndex, offsetBy: Int(slot - first.slot))
        if !started[index].isChange { blocking -= 1 }
        started[index].answered = true
        early[slot] = answer
        return .kept
    }

    private mutating func noteClose(_ then: Answer.Then) {
        switch then {
        case .carryOn: break
        case .close: closeDue = closeDue ?? .close
        case .closeAfterReplies: closeDue = closeDue ?? .closeAfterReplies
        }
    }

    mutating func drain() {
        if case .open = state { state = .draining }
    }

    /// The channel closed: nothing more is written or run.
    mutating func closed() {
        state = .closed
        queue.removeAll()
        early.removeAll()
    }

    /// What to do next; nil once there is nothing to do until the next event.
    mutating func nextAction() -> Action? {
        if case .closed = state { return nil }
        if let first = started.first, first.answered, let answer = early.removeValue(forKey: first.slot) {
            started.removeFirst()
            noteClose(answer.then)
            return .write(id: first.id, answer)
        }
        if let close = closeDue, started.isEmpty || close.isImmediate {
            state = .closed
            return close
        }
        if closeDue == nil, blocking == 0, let next = queue.first, next.isStartable(afterAnswering: started.isEmpty) {
            queue.removeFirst()
            switch next.request {
            case .success(let request): return .execute(start(id: next.id, isChange: request.isChange), request)
            case .failure(let error):
                // Answered as it starts; it holds back nothing (as a change does not) and waits for its turn.
                let then: Answer.Then = next.closesConnection ? .closeAfterReplies : .carryOn
                early[start(id: next.id, isChange: true, answered: true)] = .failed(error, then: then)
                return nextAction()
            }
        }
        if readHeld, inFlight <= maxInFlight / 2 {
            readHeld = false
            return .resumeReading
        }
        if case .draining = state, inFlight == 0 {
            state = .closed
            return .closeAfterReplies
        }
        return nil
    }
}

extension ConnectionStateMachine.Action {
    /// A close that does not wait for the answers still due (a session closed or expired).
    fileprivate var isImmediate: Bool {
        if case .close = self { return true }
        return false
    }
}

extension ConnectionStateMachine.Received {
    /// A change may start while earlier changes are unanswered, and an error takes its slot at once (its answer
    /// waits there for the ones before it); anything else starts only once every earlier request is answered.
    fileprivate func isStartable(afterAnswering allAnswered: Bool) -> Bool {
        if case .success(let request) = request, request.isChange { return true }
        if case .failure = request { return true }
        return allAnswered
    }
}
