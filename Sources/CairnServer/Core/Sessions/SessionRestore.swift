import CairnCore
import CairnStore

/// The restart rule for persisted sessions (ARCHITECTURE.md, "Sessions"):
///
/// A restored session's deadline is max(its persisted deadline, now + grace), where the grace (one
/// timeout) is granted **once**: a session that was already granted a grace and has not been heard from
/// since keeps its persisted deadline. So a client that reconnects within the window keeps its session,
/// and a dead session expires after at most its timeout plus one grace of server uptime, however often
/// the server restarts.
enum SessionRestore {
    static func restore(_ record: SessionRecord, now: Int64) -> (deadline: Int64, graceGranted: Bool) {
        if record.graceGranted { return (record.deadline, true) }
        return (max(record.deadline, now.saturatingAdding(record.timeoutMilliseconds)), true)
    }
}
