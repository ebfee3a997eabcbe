import CairnCore
import CairnProtocol

/// What answers one request: its reply, the events that belong right before and after it, and what it does to
/// the connection. The core makes answers; a front end writes them in its wire format.
struct Answer: Sendable {
    /// What the reply does to the connection once written.
    enum Then: Sendable {
        case carryOn
        /// Close the connection (its session was closed, or expired).
        case close
        /// Close once the client has had the reply, even though it is still sending (the stream cannot be
        /// trusted after an oversized line).
        case closeAfterReplies
    }

    var outcome: ReplyLine.Outcome
    var then: Then
    /// What few answers carry, apart: an answer is copied a few times on its way, and a nil reference costs no
    /// reference counting.
    private let extras: Extras?

    private final class Extras: Sendable {
        let eventsBefore: [ServerEvent]
        let eventsAfter: [ServerEvent]
        let session: SessionChange?

        init(eventsBefore: [ServerEvent], eventsAfter: [ServerEvent], session: SessionChange?) {
            (self.eventsBefore, self.eventsAfter, self.session) = (eventsBefore, eventsAfter, session)
        }
    }

    /// add_watch with `since_zxid`: the history replayed before the reply; set_watches: the watches that fired at once.
    var eventsBefore: [ServerEvent] { extras?.eventsBefore ?? [] }
    /// add_watch with `since_zxid`: the live events held back while the history was read, after the reply.
    var eventsAfter: [ServerEvent] { extras?.eventsAfter ?? [] }
    /// The connection's session from now on, when the request opened, resumed or closed one.
    var session: SessionChange? { extras?.session }

    init(
        _ outcome: ReplyLine.Outcome, eventsBefore: [ServerEvent] = [], eventsAfter: [ServerEvent] = [],
        session: SessionChange? = nil, then: Then = .carryOn
    ) {
        self.outcome = outcome
        self.then = then
        let plain = eventsBefore.isEmpty && eventsAfter.isEmpty && session == nil
        extras = plain ? nil : Extras(eventsBefore: eventsBefore, eventsAfter: eventsAfter, session: session)
    }

    static func failed(_ error: CairnError, then: Then = .carryOn) -> Answer {
        Answer(.failed(ErrorReply(error)), then: then)
    }
}

/// A session a request gave or took from its connection.
enum SessionChange: Sendable, Hashable {
    case attached(SessionID)
    case detached
}
