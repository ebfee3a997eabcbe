import CairnCore
import CairnProtocol
import CairnStore

extension RequestExecutor {
    /// The `stats` reply: the store's, sessions', watches' and connections' counts, the writer's totals, latencies
    /// by op.
    func statistics() throws -> ReplyLine.Outcome {
        let f = try figures()
        let (kinds, files, writer) = (f.watches, f.store, f.writer)
        var s = ServerStatistics(
            znodes: f.znodes, sessions: f.sessions,
            watches: kinds.data + kinds.child + kinds.persistent + kinds.recursive,
            connections: f.connections.values.reduce(0, +), walBytes: files.walBytes, commitBatches: writer.batches,
            committedChanges: writer.changes, fsyncMicrosecondsTotal: writer.fsyncNanoseconds / 1000,
            writeError: writer.lastFailure, lastSnapshotZxid: f.snapshots.first?.zxid,
            uptimeMilliseconds: Int64(f.uptime.seconds * 1000), version: CairnServer.version)
        s.ephemerals = f.ephemerals
        s.watchesByKind = WatchCounts(
            data: kinds.data, child: kinds.child, persistent: kinds.persistent, persistentRecursive: kinds.recursive)
        s.connectionsByFrontEnd = FrontEndCounts(
            json: f.connections[.jsonLines] ?? 0, zooKeeper: f.connections[.zooKeeper] ?? 0)
        s.walSegments = files.walSegments
        s.storeMapBytes = files.mapBytes
        s.storeUsedBytes = files.usedBytes
        s.snapshots = f.snapshots.count
        s.recoveryMilliseconds = Int64(f.recovery.duration.seconds * 1000)
        s.recoveryReplayedChanges = f.recovery.replayedChanges
        s.latencies = metrics.latencies()
        return .ok(zxid: f.zxid, .stats(s))
    }

    /// The core's figures now, for `stats` and the metrics' gauges; the bytes queued to clients are 0 here (reading
    /// them needs each connection's event loop: `CairnServer.refreshMetrics`). Each figure is exact by itself;
    /// together they are not one point in time.
    func figures() throws -> ServerFigures {
        let tree = try treeFigures()
        var byFrontEnd: [FrontEnd: Int] = [:]
        for connection in connections.all() { byFrontEnd[connection.frontEnd, default: 0] += 1 }
        return ServerFigures(
            znodes: tree.znodes, ephemerals: tree.ephemerals, zxid: tree.zxid, sessions: sessions.count,
            watches: watches.countsByKind, connections: byFrontEnd, outboundBytes: 0, store: store.figures,
            writer: store.writerStatistics, snapshots: try store.listSnapshots(), recovery: store.recovery,
            uptime: .milliseconds(SystemClock.monotonicMilliseconds() - startedAt))
    }

    /// Znodes, ephemerals and the zxid (a read transaction: short, never waits for the writer).
    func treeFigures() throws -> (znodes: Int, ephemerals: Int, zxid: Zxid) {
        try store.read { view in (try view.nodeCount, try view.ephemeralCount, try view.zxid) }
    }

    /// The `sessions` reply: every open session, by id, with its ephemeral nodes counted.
    func sessionList() throws -> ReplyLine.Outcome {
        let open = sessions.table.summaries().sorted { $0.id.rawValue < $1.id.rawValue }
        let (counts, zxid) = try store.read { view in
            (try open.map { try view.ephemerals(of: $0.id).count }, try view.zxid)
        }
        let summaries = zip(open, counts).map { session, ephemerals in
            SessionSummary(
                id: session.id, timeoutMilliseconds: session.timeoutMilliseconds, connected: session.connected,
                idleMilliseconds: session.idleMilliseconds, ephemerals: ephemerals)
        }
        return .ok(zxid: zxid, .sessions(summaries))
    }

    /// The `snapshots` reply, newest first.
    func snapshotList() throws -> ReplyLine.Outcome {
        let snapshots = try store.listSnapshots().map {
            SnapshotSummary(zxid: $0.zxid, size: $0.size, checksum: $0.checksum, created: $0.created)
        }
        return .ok(zxid: try store.read { try $0.zxid }, .snapshots(snapshots))
    }
}
