import CairnCore
import CairnTesting
import Foundation
import Testing

@testable import CairnStore

@Suite("Snapshots, retention and history")
struct SnapshotRecoveryTests {
    @Test("deleting the LMDB files rebuilds the same state from the newest snapshot plus the WAL")
    func restoreAfterStoreDeleted() throws {
        let f = try StoreFixture()
        let session = try f.newSession()
        try f.create("/services")
        try f.create("/services/web-", "10.0.0.1:80", kind: .ephemeral, sequential: true, session: session)
        let snap = try f.store.snapshot()
        try f.create("/services/db", "after the snapshot")
        try f.commit(.operation(.setData(path: path("/services"), data: bytes("v2"), version: -1)))
        let before = try f.tree()
        let sessions = try f.store.read { try $0.sessions() }
        f.store.close()
        try FileManager.default.removeItem(atPath: f.data.store)
        try f.reopen()
        #expect(f.store.recovery.source == .snapshot(zxid: snap.zxid))
        #expect(f.store.recovery.replayedChanges == 2)
        #expect(try f.tree() == before)
        #expect(try f.store.read { try $0.sessions() } == sessions)
    }

    @Test("an unclean shutdown followed by a reboot restores from the snapshot instead of trusting LMDB")
    func powerLossDistrustsLMDB() throws {
        let f = try StoreFixture()
        try f.create("/a", "1")
        let snap = try f.store.snapshot()
        try f.create("/b", "2")
        let before = try f.tree()
        f.store.close()
        // What a power cut leaves: the lock file says running, under another boot id.
        try FileSystem.writeAtomically(
            Array("pid=1 boot=an-earlier-boot state=running\n".utf8), to: f.data.lockFile, directory: f.data.path)
        try f.reopen()
        #expect(f.store.recovery.source == .snapshot(zxid: snap.zxid))
        #expect(try f.tree() == before)
        // Same boot, unclean (a process crash): LMDB is trusted.
        let boot = DataDirectoryLock.currentBootID()
        f.store.close()
        try FileSystem.writeAtomically(
            Array("pid=1 boot=\(boot) state=running\n".utf8), to: f.data.lockFile, directory: f.data.path)
        try f.reopen()
        #expect(f.store.recovery.source == .store)
    }

    @Test("retention keeps N snapshots and only the WAL they need, and a reopen after it works")
    func retention() throws {
        let f = try StoreFixture {
            $0.walSegmentSize = 2048
            $0.snapshotsToKeep = 2
        }
        for round in 0..<5 {
            for k in 0..<40 { try f.create("/r\(round)-\(k)", String(repeating: "x", count: 64)) }
            _ = try f.store.snapshot()
        }
        let snapshots = try f.store.listSnapshots()
        #expect(snapshots.count == 2)
        let oldestKept = try #require(snapshots.last).zxid
        let segments = try FileSystem.list(f.data.wal).compactMap(WALSegment.firstZxid(fileName:))
        #expect(segments.first! <= oldestKept + 1, "the WAL still reaches back to the oldest kept snapshot")
        #expect(segments.first! > 1, "older segments were deleted")
        #expect(f.store.oldestHistoryZxid == segments.first!)
        let before = try f.tree()
        try f.reopen()
        #expect(try f.tree() == before)
        // And from the oldest kept snapshot, if LMDB is lost.
        f.store.close()
        try FileManager.default.removeItem(atPath: f.data.store)
        try f.reopen()
        #expect(try f.tree() == before)
    }

    @Test("history replays changes after a zxid across a reopen, and says compacted once purged")
    func history() throws {
        let f = try StoreFixture { $0.walSegmentSize = 1024 }
        try f.create("/h")
        for k in 0..<30 { try f.create("/h/n\(k)", String(repeating: "y", count: 40)) }
        let tail = try f.store.history(after: 25)
        #expect(tail.map(\.zxid) == Array(26...31))
        #expect(
            tail.first?.effects == [
                .createNode(
                    path: path("/h/n24"), data: bytes(String(repeating: "y", count: 40)), kind: .persistent, owner: nil)
            ])
        #expect(try f.store.history(after: 3, limit: 2).map(\.zxid) == [4, 5])
        try f.reopen()
        #expect(try f.store.history(after: 29).map(\.zxid) == [30, 31])
        _ = try f.store.snapshot()
        let oldest = f.store.oldestHistoryZxid
        #expect(oldest > 1)
        #expect(throws: CairnError.compacted(requested: 0, oldestAvailable: oldest)) { try f.store.history(after: 0) }
        try f.create("/h/after")
        #expect(try f.store.history(after: oldest - 1).first?.zxid == oldest)
    }

    @Test("snapshots are taken by change count while writes go on")
    func scheduledSnapshots() throws {
        let f = try StoreFixture { $0.snapshotEveryChanges = 50 }
        for k in 0..<200 { try f.create("/s\(k)") }
        var snapshots: [SnapshotInfo] = []
        for _ in 0..<200 where snapshots.isEmpty {
            snapshots = try f.store.listSnapshots()
            usleep(10_000)
        }
        #expect(!snapshots.isEmpty)
        f.store.close()
        for info in try f.store.listSnapshots() {
            #expect(throws: Never.self) {
                try SnapshotStore(directory: f.data.snapshots, logger: quietLogger).verify(info)
            }
        }
    }

    @Test("sessions persist with their password hash and recorded deadline")
    func sessionsPersist() async throws {
        let f = try StoreFixture()
        let id = SessionID(rawValue: 0xABCD)
        let hash = [UInt8](repeating: 9, count: 32)
        let created = try await f.store.commit(.createSession(id: id, timeoutMilliseconds: 5000, passwordHash: hash))
        let record = try #require(try blocking { try f.store.read { try $0.session(id) } })
        #expect(record.passwordHash == hash && record.timeoutMilliseconds == 5000)
        #expect(record.deadline == created.change!.time + 5000 && !record.graceGranted)
        try await f.store.recordSessionTimes([SessionTimes(id: id, deadline: 123_456, graceGranted: true)])
        #expect(created.zxid == 1)
        try blocking { try f.reopen() }
        let restored = try #require(try blocking { try f.store.read { try $0.session(id) } })
        #expect(restored.deadline == 123_456 && restored.graceGranted)
        #expect(try f.store.history(after: 1).isEmpty, "deadlines are bookkeeping, not changes")
    }

    @Test("the temporary files of snapshots a kill interrupted are removed at open, and the snapshot beside them stays")
    func interruptedSnapshotFilesRemoved() throws {
        let f = try StoreFixture()
        try f.create("/a", "1")
        let kept = try f.store.snapshot()
        f.store.close()
        // What SIGKILLs mid-snapshot leave: copies never renamed, a manifest never renamed.
        let leftovers = [".tmp-4242-1234567.mdb", ".tmp-4243-1239999.mdb", "00000000000000000009.manifest.tmp"]
        for name in leftovers {
            try FileSystem.writeAtomically(
                [UInt8](repeating: 1, count: 3000), to: f.data.snapshots + "/" + name, directory: f.data.snapshots)
        }
        let log = RecordedLog()
        try f.reopen(logger: log.logger)
        let snapshots = SnapshotStore(directory: f.data.snapshots, logger: quietLogger)
        let remaining = try FileSystem.list(f.data.snapshots).map { f.data.snapshots + "/" + $0 }
        #expect(remaining == [snapshots.manifestPath(kept.zxid), kept.path])
        #expect(try f.store.listSnapshots() == [kept])
        #expect(throws: Never.self) { try snapshots.verify(kept) }
        let removal = try #require(log.entries.first { $0.message.contains("interrupted snapshots") })
        #expect(removal.metadata["snapshot.count"] == "3" && removal.metadata["snapshot.bytes"] == "9000")
        #expect(leftovers.allSatisfy { "\(removal.metadata["snapshot.files"] ?? "")".contains($0) })
    }

    @Test("the temporary copy a kill left of a restore (store/data.mdb.tmp) is removed at open; the store is as it was")
    func interruptedRestoreRemoved() throws {
        let f = try StoreFixture()
        try f.create("/a", "1")
        f.store.close()
        let temporary = f.data.storeData + ".tmp"
        try FileSystem.writeAtomically([UInt8](repeating: 7, count: 5000), to: temporary, directory: f.data.store)
        let log = RecordedLog()
        try f.reopen(logger: log.logger)
        #expect(!FileSystem.exists(temporary))
        #expect(try f.node("/a")?.data == bytes("1"))
        let removal = try #require(log.entries.first { $0.message.contains("interrupted restore") })
        #expect(removal.metadata["store.bytes"] == "5000")
    }
}
