import CairnCore
import CairnProtocol
import CairnStore
import FoundationEssentials

/// The reply lines of the protocol (docs/protocol.md).
enum Replies {
    /// `{"id":…,"ok":true,"zxid":…}` plus what `fields` adds, written into `storage` (see
    /// `JSONWriter(reusing:)`).
    static func ok(
        id: Int64?, zxid: Zxid, reusing storage: consuming [UInt8] = [], _ fields: (inout JSONWriter) -> Void = { _ in }
    ) -> [UInt8] {
        var w = JSONWriter(reusing: storage)
        w.beginSuccess(id: id, zxid: zxid)
        fields(&w)
        w.endObject()
        return w.line()
    }

    /// The reply to a change: a single op's fields at the top level (create → path and stat, set → stat),
    /// a multi's as `results`, one object per op.
    static func change(
        id: Int64?, multi: Bool = false, _ result: Result<Committed, CairnError>,
        reusing storage: consuming [UInt8] = []
    ) -> [UInt8] {
        switch result {
        case .failure(let error):
            return JSONWriter.error(id: id, error)
        case .success(let committed):
            return ok(id: id, zxid: committed.zxid, reusing: storage) { w in
                if multi {
                    w.beginArray("results")
                    for result in committed.results {
                        w.beginElementObject()
                        fields(of: result, into: &w)
                        w.endObject()
                    }
                    w.endArray()
                } else if let result = committed.results.first {
                    fields(of: result, into: &w)
                }
            }
        }
    }

    private static func fields(of result: OperationResult, into w: inout JSONWriter) {
        switch result {
        case .created(let path, let stat):
            w.string("op", "create")
            w.string("path", path.string)
            w.stat("stat", stat)
        case .set(let stat):
            w.string("op", "set")
            w.stat("stat", stat)
        case .deleted: w.string("op", "delete")
        case .checked: w.string("op", "check")
        }
    }

    static func connected(id: Int64?, zxid: Zxid, session: SessionID, password: [UInt8]?, timeout: Int64) -> [UInt8] {
        ok(id: id, zxid: zxid) { w in
            w.string("session_id", session.hex)
            if let password { w.string("password", Data(password).base64EncodedString()) }
            w.int("timeout_ms", timeout)
        }
    }

    static func snapshots(id: Int64?, server: CairnServer) throws -> [UInt8] {
        let snapshots = try server.store.listSnapshots()
        return ok(id: id, zxid: try server.store.read { try $0.zxid }) { w in
            w.beginArray("snapshots")
            for info in snapshots {
                w.beginElementObject()
                w.int("zxid", info.zxid)
                w.int("size", info.size)
                w.int("crc32c", info.checksum)
                w.int("created", info.created)
                w.endObject()
            }
            w.endArray()
        }
    }

    static func stats(id: Int64?, server: CairnServer) throws -> [UInt8] {
        let (zxid, znodes) = try server.store.read { view in (try view.zxid, try view.nodeCount) }
        let lastSnapshot = try server.store.listSnapshots().first?.zxid
        return ok(id: id, zxid: zxid) { w in
            w.int("znodes", znodes)
            w.int("sessions", server.sessions.count)
            w.int("watches", server.watches.count)
            w.int("connections", server.connections.count)
            w.int("wal_bytes", server.store.walBytes)
            let writer = server.store.writerStatistics
            w.int("commit_batches", writer.batches)
            w.int("committed_changes", writer.changes)
            w.int("fsync_us_total", writer.fsyncNanoseconds / 1000)
            if let failure = writer.lastFailure { w.string("write_error", failure) } else { w.null("write_error") }
            if let lastSnapshot { w.int("last_snapshot_zxid", lastSnapshot) } else { w.null("last_snapshot_zxid") }
            w.int("uptime_ms", SystemClock.monotonicMilliseconds() - server.startedAt)
            w.string("version", CairnServer.version)
        }
    }
}
