import CairnCore
import CairnStore
import Crypto
import Synchronization

/// Live sessions: their timeouts, deadlines and the connection each is attached to.
///
/// A session expires when its deadline passes with no request or ping; a dropped connection does not
/// end it. Deadlines run on the monotonic clock (`SessionClock`) and are persisted, as wall-clock times,
/// at checkpoints, not per ping (see `SessionRestore`).
final class SessionTable: Sendable {
    struct Entry: Sendable {
        var timeoutMilliseconds: Int64
        var passwordHash: [UInt8]
        /// Monotonic milliseconds (`SessionClock.monotonicMilliseconds`).
        var deadline: Int64
        /// A restart granted the reconnect grace and the session has not been heard from since.
        var graceGranted: Bool
        /// Expiry was submitted; no request may revive it.
        var expiring = false
        var connection: ConnectionID?
    }

    private let entries = Mutex<[SessionID: Entry]>([:])
    let clock: SessionClock

    init(clock: SessionClock = .system) { self.clock = clock }

    var count: Int { entries.withLock { $0.count } }

    /// Every session: its timeout, whether a connection has it, and how long ago its client was last heard (ms; a
    /// restored session's reconnect window counts as heard).
    func summaries() -> [(id: SessionID, timeoutMilliseconds: Int64, connected: Bool, idleMilliseconds: Int64)] {
        let now = clock.monotonicMilliseconds()
        return entries.withLock { entries in
            entries.map { id, entry in
                let heard = entry.deadline.saturatingAdding(-entry.timeoutMilliseconds)
                return (id, entry.timeoutMilliseconds, entry.connection != nil, max(0, now.saturatingAdding(-heard)))
            }
        }
    }

    /// A session just created, attached to `connection`: its deadline one timeout from now.
    func open(_ id: SessionID, timeoutMilliseconds: Int64, passwordHash: [UInt8], connection: ConnectionID?) {
        let deadline = clock.monotonicMilliseconds().saturatingAdding(timeoutMilliseconds)
        entries.withLock {
            $0[id] = Entry(
                timeoutMilliseconds: timeoutMilliseconds, passwordHash: passwordHash, deadline: deadline,
                graceGranted: false, connection: connection)
        }
    }

    /// A persisted session at a start, with its reconnect window (`SessionRestore`).
    func restore(_ record: SessionRecord) {
        let restored = SessionRestore.restore(record, now: clock.wallMilliseconds())
        let deadline = clock.monotonic(fromWall: restored.deadline)
        entries.withLock {
            $0[record.id] = Entry(
                timeoutMilliseconds: record.timeoutMilliseconds, passwordHash: record.passwordHash, deadline: deadline,
                graceGranted: restored.graceGranted)
        }
    }

    /// Pushes the deadline out by one timeout; false when the session is unknown or expiring.
    func touch(_ id: SessionID) -> Bool {
        let now = clock.monotonicMilliseconds()
        // Once per request: changed in place, one lookup, no copy of the entry.
        return entries.withLock { entries in
            guard let index = entries.index(forKey: id), !entries.values[index].expiring else { return false }
            entries.values[index].deadline = now.saturatingAdding(entries.values[index].timeoutMilliseconds)
            entries.values[index].graceGranted = false
            return true
        }
    }

    /// Checks the password and attaches the session to `connection`; returns the timeout, the
    /// connection it was attached to before, and the times to persist when this ends a restart's grace
    /// (so that a crash right after the reconnect cannot take the session's next grace away); nil when
    /// the session is gone or the password is wrong.
    func resume(_ id: SessionID, password: [UInt8], connection: ConnectionID)
        -> (timeout: Int64, previous: ConnectionID?, endedGrace: SessionTimes?)?
    {
        let hash = Self.hash(password)
        let now = clock.monotonicMilliseconds()
        return entries.withLock { entries in
            guard var entry = entries[id], !entry.expiring, entry.passwordHash == hash else { return nil }
            let previous = entry.connection
            let wasInGrace = entry.graceGranted
            entry.connection = connection
            entry.deadline = now.saturatingAdding(entry.timeoutMilliseconds)
            entry.graceGranted = false
            entries[id] = entry
            let times =
                wasInGrace
                ? SessionTimes(id: id, deadline: clock.wall(fromMonotonic: entry.deadline), graceGranted: false) : nil
            return (entry.timeoutMilliseconds, previous, times)
        }
    }

    func detach(_ id: SessionID, from connection: ConnectionID) {
        entries.withLock { entries in
            if entries[id]?.connection == connection { entries[id]?.connection = nil }
        }
    }

    /// Sessions past their deadline, now marked expiring, with the connection each was attached to.
    func expire() -> [(SessionID, ConnectionID?)] {
        let now = clock.monotonicMilliseconds()
        return entries.withLock { entries in
            var due: [(SessionID, ConnectionID?)] = []
            for (id, entry) in entries where !entry.expiring && entry.deadline <= now {
                entries[id]?.expiring = true
                due.append((id, entry.connection))
            }
            return due
        }
    }

    /// Marks a session expiring (its client is closing it): no request may revive it meanwhile.
    func beginClose(_ id: SessionID) {
        entries.withLock { $0[id]?.expiring = true }
    }

    func remove(_ id: SessionID) { entries.withLock { _ = $0.removeValue(forKey: id) } }

    /// What to persist at a checkpoint: the deadlines as wall-clock times.
    func times() -> [SessionTimes] {
        entries.withLock { entries in
            entries.map {
                SessionTimes(
                    id: $0.key, deadline: clock.wall(fromMonotonic: $0.value.deadline),
                    graceGranted: $0.value.graceGranted)
            }
        }
    }

    static func hash(_ password: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: password)) }
}
