import CairnCore

/// The rules a data directory's log was written under, kept in `<data-dir>/FORMAT`
/// (`format=3 deletes_counted_through=ZXID system_nodes_after=ZXID`), so that replay applies each change by the rules
/// of the server that wrote it:
/// - Before format 2 a child's delete advanced its parent's sequence counter as a create does; since, only creates do
///   (ZooKeeper's rule, so that the next sequential name matches ZooKeeper's). Replaying a log by another rule than
///   it was written under would hand a name out twice.
/// - Before format 3 a tree had no system nodes (`ZNodePath.systemNodes`); they are made, by no change, right after
///   change `systemNodesAfter`, so that later changes below `/zookeeper` replay onto them.
///
/// The rules live beside the WAL, not in LMDB, because LMDB can be rebuilt from the WAL alone (power-cut rule).
struct DataFormat: Equatable {
    /// The last zxid written under format 1's rule; 0 for a directory that began at format 2 or later.
    var deletesCountedThrough: Zxid
    /// The last zxid written before the system nodes existed; 0 for a directory that began at format 3.
    var systemNodesAfter: Zxid

    /// What a directory that begins now gets.
    static let current = DataFormat(deletesCountedThrough: 0, systemNodesAfter: 0)

    /// The directory's format: from its `FORMAT` file, or for a directory without one, format 1 through every zxid
    /// when it holds a store or WAL segments (written before format 2), else none (`nil`: a new directory). A rule
    /// the file does not name (it is older) is `.max`: every change in the log was written before it.
    static func read(_ directory: DataDirectory) throws -> DataFormat? {
        let path = directory.formatFile
        guard FileSystem.exists(path) else {
            let hasData = try FileSystem.exists(directory.storeData) || !WALSegment.list(in: directory.wal).isEmpty
            return hasData ? DataFormat(deletesCountedThrough: .max, systemNodesAfter: .max) : nil
        }
        let fields = KeyValueText.parse(String(decoding: try FileSystem.readAll(path), as: UTF8.self))
        let through = fields["deletes_counted_through"].flatMap { Zxid($0) }
        switch (fields["format"], through, fields["system_nodes_after"].flatMap { Zxid($0) }) {
        case ("2", let through?, nil): return DataFormat(deletesCountedThrough: through, systemNodesAfter: .max)
        case ("3", let through?, let after?): return DataFormat(deletesCountedThrough: through, systemNodesAfter: after)
        default:
            throw StoreError.noRecoverableState(
                "\(path) is not a FORMAT file of format 2 or 3: a newer Cairn wrote it?")
        }
    }

    /// Whether replaying change `zxid` advances a parent's counter on a child's delete.
    func deletesAdvanceSequence(at zxid: Zxid) -> Bool { zxid <= deletesCountedThrough }

    /// Whether the system nodes exist when change `zxid` is applied.
    func hasSystemNodes(at zxid: Zxid) -> Bool { zxid > systemNodesAfter }

    /// Whether a rule is still open-ended (`.max`): the log's last zxid closes it once the log is replayed.
    var isUpgrading: Bool { deletesCountedThrough == .max || systemNodesAfter == .max }

    /// This format with its open-ended rules closed at `zxid`.
    func closed(at zxid: Zxid) -> DataFormat {
        DataFormat(
            deletesCountedThrough: deletesCountedThrough == .max ? zxid : deletesCountedThrough,
            systemNodesAfter: systemNodesAfter == .max ? zxid : systemNodesAfter)
    }

    /// Stores the format durably (written when a directory is new or first opened by this version).
    func write(_ directory: DataDirectory) throws {
        let text = "format=3 deletes_counted_through=\(deletesCountedThrough) system_nodes_after=\(systemNodesAfter)\n"
        try FileSystem.writeAtomically(Array(text.utf8), to: directory.formatFile, directory: directory.path)
    }
}
