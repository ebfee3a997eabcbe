import LMDB

/// The named LMDB databases of a store. None uses DUPSORT (Debian's LMDB 0.9.24 has bugs there).
struct StoreDatabases: Sendable {
    /// NodeID → NodeRecord.
    let nodes: Database
    /// ChildKey → child NodeID (+ full name for long names).
    let children: Database
    /// owner SessionID (8, BE) + NodeID (8, BE) → empty: each session's ephemerals.
    let ephemerals: Database
    /// NodeID → empty: every container node, for the reaper.
    let containers: Database
    /// NodeID → empty: every node with a TTL, for the reaper.
    let ttls: Database
    /// SessionID (8, BE) → SessionRecord.
    let sessions: Database
    /// Store-wide values: applied zxid, next node id, format.
    let meta: Database

    @available(*, noasync)
    init(environment: Environment) throws {
        nodes = try environment.openDatabase("nodes")
        children = try environment.openDatabase("children")
        ephemerals = try environment.openDatabase("ephemerals")
        containers = try environment.openDatabase("containers")
        ttls = try environment.openDatabase("ttls")
        sessions = try environment.openDatabase("sessions")
        meta = try environment.openDatabase("meta")
    }
}
