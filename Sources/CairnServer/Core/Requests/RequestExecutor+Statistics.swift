import CairnCore
import CairnProtocol
import CairnStore

extension RequestExecutor {
    /// The `stats` reply: the store's, sessions', watches' and connections' counts, the writer's totals.
    func statistics() throws -> ReplyLine.Outcome {
        let (zxid, znodes) = try store.read { view in (try view.zxid, try view.nodeCount) }
        let writer = store.writerStatistics
        return .ok(
            zxid: zxid,
            .stats(
                ServerStatistics(
                    znodes: znodes, sessions: sessions.count, watches: watches.count, connections: connections.count,
                    walBytes: store.walBytes, commitBatches: writer.batches, committedChanges: writer.changes,
                    fsyncMicrosecondsTotal: writer.fsyncNanoseconds / 1000, writeError: writer.lastFailure,
                    lastSnapshotZxid: try store.listSnapshots().first?.zxid,
                    uptimeMilliseconds: Int64(clamping: SystemClock.monotonicMilliseconds() - startedAt),
                    version: CairnServer.version)))
    }

    /// The `snapshots` reply, newest first.
    func snapshotList() throws -> ReplyLine.Outcome {
        let snapshots = try store.listSnapshots().map {
            SnapshotSummary(zxid: $0.zxid, size: $0.size, checksum: $0.checksum, created: $0.created)
        }
        return .ok(zxid: try store.read { try $0.zxid }, .snapshots(snapshots))
    }
}
