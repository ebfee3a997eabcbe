import CairnCore
import Logging

/// Offline looks at a data directory's WAL for operators (`cairnctl wal inspect|verify|repair`). They
/// take the directory's lock, so they are refused while a server uses it.
public enum WALTools {
    /// What a full read of the WAL found.
    public struct Report: Sendable {
        /// First and last zxid of the records that read cleanly.
        public var firstZxid: Zxid?
        public var lastZxid: Zxid?
        public var records = 0
        public var segments = 0
        /// A torn tail at the end of the last segment (the next start cuts it).
        public var tornTail: (file: String, offset: Int, bytes: Int)?
        /// Damage that stops a start: a `StoreError` naming the file and offset.
        public var damage: StoreError?
    }

    /// Reads every record from zxid `from` on, handing each to `body`, stopping at the first damage.
    public static func inspect(_ directory: DataDirectory, from: Zxid = 1, _ body: (Change) throws -> Void = { _ in })
        throws -> Report
    {
        let lock = try DataDirectoryLock(directory)
        defer { lock.release(clean: lock.previous?.clean ?? true) }
        return try read(directory, from: from, body)
    }

    private static func read(_ directory: DataDirectory, from: Zxid, _ body: (Change) throws -> Void) throws -> Report {
        let segments = try WALSegment.list(in: directory.wal)
        var report = Report(segments: segments.count)
        // Everything the log holds is "after" the zxid before its first segment.
        let before = (segments.first?.firstZxid ?? 1) - 1
        var scan = WALScan(appliedZxid: before, logger: Logger(label: "cairn.wal-tools"), cutsTornTail: false)
        do {
            for (index, segment) in segments.enumerated() {
                try scan.read(segment, isLast: index == segments.count - 1) { change in
                    if report.firstZxid == nil { report.firstZxid = change.zxid }
                    report.lastZxid = change.zxid
                    report.records += 1
                    if change.zxid >= from { try body(change) }
                }
            }
        } catch let error as StoreError {
            report.damage = error
        }
        report.tornTail = scan.tornTail
        return report
    }

    /// What `repair` did.
    public struct Repair: Sendable {
        /// Files holding the bytes cut off (a side file per cut, and whole later segments moved aside).
        public var sideFiles: [String] = []
        /// The last zxid left in the log.
        public var lastZxid: Zxid?
        /// Whole records (checksums matching) that the cut took out of the log, found past the damage and in the
        /// later segments set aside: how many, and the first and last of their zxids. The damaged record itself
        /// is not among them.
        public var removedChanges = 0
        public var removedZxids: ClosedRange<Zxid>?
        /// The log no longer reached the store's applied zxid, so it was moved aside whole; the store
        /// stands on its own and history starts after its zxid.
        public var logArchived = false
    }

    /// The free space `repair` needs at most: it keeps the smaller part of the damaged segment's bytes by
    /// writing it anew (the part it cuts, into the side file, or the part it keeps, into a new segment whose
    /// old file becomes the side file), so never more than half the segment. Later segments are only renamed.
    public static let repairSpaceBound = "at most half of the damaged segment's size"

    /// Cuts the log at its first damage (or torn tail), keeping every cut byte in a side file next to the
    /// segment (`<segment>.cut-<time>`), so the directory opens again. Checks first that the filesystem has the
    /// space it needs (see `repairSpaceBound`), and changes nothing when it has not.
    public static func repair(_ directory: DataDirectory) throws -> Repair {
        let lock = try DataDirectoryLock(directory)
        defer { lock.release(clean: false) }
        let report = try read(directory, from: .max) { _ in }
        var repair = Repair(lastZxid: report.lastZxid)
        let stamp = "cut-\(SystemClock.wallMilliseconds())"
        let segments = try WALSegment.list(in: directory.wal)
        var cut: (file: String, offset: Int)?
        switch report.damage {
        case .corruptWAL(let file, let offset, _)?, .walGap(let file, let offset, _, _)?: cut = (file, offset)
        case nil: cut = report.tornTail.map { ($0.file, $0.offset) }
        case let other?: throw other
        }
        let lastKept = report.lastZxid ?? ((segments.first?.firstZxid ?? 1) - 1)
        if let cut, let index = segments.firstIndex(where: { $0.path == cut.file }) {
            let bytes = try FileSystem.readAll(cut.file)
            // A segment torn from its first byte (a kill right at a roll) is cut at 0 and gets its header again.
            let keep = cut.offset
            let dataEnd = max(keep, WALSegment.dataEnd(bytes))
            let needed = min(max(keep, WALSegment.headerSize), dataEnd - keep)
            let available = try FileSystem.availableBytes(directory.wal)
            guard available >= needed else {
                throw StoreError.notEnoughSpace(
                    path: directory.wal, needed: needed, available: available, purpose: "`cairnctl wal repair`")
            }
            var removed = bytes.withUnsafeBytes { WALScan.wholeRecords($0, from: cut.offset, lastZxid: lastKept) }.map(
                \.zxid)
            for later in segments[(index + 1)...] {
                let laterBytes = try FileSystem.readAll(later.path)
                removed += laterBytes.withUnsafeBytes {
                    WALScan.wholeRecords($0, from: WALSegment.headerSize, lastZxid: lastKept)
                }.map(\.zxid)
            }
            repair.removedChanges = removed.count
            if let first = removed.min(), let last = removed.max() { repair.removedZxids = first...last }

            let side = cut.file + "." + stamp
            if dataEnd - keep <= max(keep, WALSegment.headerSize) {
                try segments[index].cut(bytes, at: keep, keepingIn: side)
            } else {
                // The part kept is the smaller: the whole old file becomes the side file, the kept part a new segment.
                try FileSystem.rename(cut.file, side)
                try FileSystem.writeAtomically(Array(bytes[..<keep]), to: cut.file, directory: directory.wal)
            }
            repair.sideFiles.append(side)
            for later in segments[(index + 1)...] {
                try FileSystem.rename(later.path, later.path + "." + stamp)
                repair.sideFiles.append(later.path + "." + stamp)
            }
        }
        // A store that applied more than the log now holds must not meet a log with a hole after it.
        if FileSystem.exists(directory.storeData), let last = repair.lastZxid,
            let applied = try? SnapshotStore.appliedZxid(ofCopy: directory.storeData), applied > last
        {
            for segment in try WALSegment.list(in: directory.wal) {
                try FileSystem.rename(segment.path, segment.path + "." + stamp)
                repair.sideFiles.append(segment.path + "." + stamp)
            }
            repair.logArchived = true
        }
        try FileSystem.syncDirectory(directory.wal)
        return repair
    }
}
