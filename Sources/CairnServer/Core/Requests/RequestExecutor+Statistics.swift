import CairnCore
import CairnProtocol
import CairnStore

extension RequestExecutor {
    /// The `stats` reply: the store's, sessions', watches' and connections' counts, the writer's totals, latencies
    /// by op.
    func statistics() throws -> ReplyLine.Outcome {
        let (zxid, znodes, ephemerals) = try store.read { view in
            (try view.zxid, try view.nodeCount, try view.ephemeralCount)
        }
        let writer = store.writerStatistics
        let files = store.figures
        let snapshots = try store.listSnapshots()
        let kinds = watches.countsByKind
        let open = connections.all()
        var s = ServerStatistics(
            znodes: znodes, sessions: sessions.count,
            watches: kinds.data + kinds.child + kinds.persistent + kinds.recursive,
            connections: open.count, walBytes: files.walBytes, commitBatches: writer.batches,
            committedChanges: writer.changes, fsyncMicrosecondsTotal: writer.fsyncNanoseconds / 1000,
            writeError: writer.lastFailure, lastSnapshotZxid: snapshots.first?.zxid,
            uptimeMilliseconds: Int64(clamping: SystemClock.monotonicMilliseconds() - startedAt),
            version: CairnServer.version)
        s.ephemerals = ephemerals
        s.watchesByKind = WatchCounts(
            data: kinds.data, child: kinds.child, persistent: kinds.persistent, persistentRecursive: kinds.recursive)
        s.connectionsByFrontEnd = FrontEndCounts(
            json: open.count { $0.frontEnd == .jsonLines }, zooKeeper: open.count { $0.frontEnd == .zooKeeper })
        s.walSegments = files.walSegments
        s.storeMapBytes = files.mapBytes
        s.storeUsedBytes = files.usedBytes
        s.snapshots = snapshots.count
        s.recoveryMilliseconds = Int64(store.recovery.duration.seconds * 1000)
        s.recoveryReplayedChanges = store.recovery.replayedChanges
        s.latencies = metrics.latencies()
        return .ok(zxid: zxid, .stats(s))
    }

    /// The `snapshots` reply, newest first.
    func snapshotList() throws -> ReplyLine.Outcome {
        let snapshots = try store.listSnapshots().map {
            SnapshotSummary(zxid: $0.zxid, size: $0.size, checksum: $0.checksum, created: $0.created)
        }
        return .ok(zxid: try store.read { try $0.zxid }, .snapshots(snapshots))
    }
}
