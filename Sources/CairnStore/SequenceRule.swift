import CairnCore

/// Which rule a data directory's log was written under for a node's sequence counter, kept in
/// `<data-dir>/FORMAT` (`format=2 deletes_counted_through=ZXID`). Before format 2 a child's delete advanced its
/// parent's counter as a create does; since, only creates do (ZooKeeper's rule, so that the next sequential name
/// matches ZooKeeper's). Replay applies the old rule to changes up to `deletesCountedThrough`: a log's sequential
/// names were chosen by the rule it was written under, and replaying it by another would hand a name out twice.
///
/// The rule lives beside the WAL, not in LMDB, because LMDB can be rebuilt from the WAL alone (power-cut rule).
struct SequenceRule: Equatable {
    /// The last zxid written under format 1's rule; 0 for a directory that began at format 2.
    let deletesCountedThrough: Zxid

    /// The directory's rule: from its `FORMAT` file, or for a directory without one, format 1's through every zxid
    /// when it holds a store or WAL segments (written before format 2), else none (`nil`: a new directory).
    static func read(_ directory: DataDirectory) throws -> SequenceRule? {
        let path = directory.formatFile
        guard FileSystem.exists(path) else {
            let hasData = try FileSystem.exists(directory.storeData) || !WALSegment.list(in: directory.wal).isEmpty
            return hasData ? SequenceRule(deletesCountedThrough: .max) : nil
        }
        let fields = KeyValueText.parse(String(decoding: try FileSystem.readAll(path), as: UTF8.self))
        guard fields["format"] == "2", let through = fields["deletes_counted_through"].flatMap({ Zxid($0) }) else {
            throw StoreError.noRecoverableState("\(path) is not a format 2 FORMAT file: a newer Cairn wrote it?")
        }
        return SequenceRule(deletesCountedThrough: through)
    }

    /// Whether replaying change `zxid` advances a parent's counter on a child's delete.
    func deletesAdvanceSequence(at zxid: Zxid) -> Bool { zxid <= deletesCountedThrough }

    /// Stores the rule durably (written once, when a directory is new or first opened by format 2).
    func write(_ directory: DataDirectory) throws {
        let text = "format=2 deletes_counted_through=\(deletesCountedThrough)\n"
        try FileSystem.writeAtomically(
            Array(text.utf8), to: directory.formatFile, directory: directory.path)
    }
}
