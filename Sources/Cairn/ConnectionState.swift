/// The client's link to its session, as Curator names it.
public enum ConnectionState: Sendable, Hashable {
    /// A new session is open (the first, or a new one after `expired`).
    case connected
    /// The connection dropped; the session may still be alive. Not leader, lock not known held.
    case suspended
    /// The same session was resumed on a new connection: ephemerals and its locks are intact.
    case reconnected
    /// The session is gone and its ephemerals with it; a new one follows (`connected`).
    case expired
}
