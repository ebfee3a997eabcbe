import CairnCore
import FoundationEssentials

extension Reply {
    /// The success line `{"id":…,"ok":true,"zxid":…,<fields>}`, written into `storage` (see `JSONWriter(reusing:)`).
    public func line(id: Int64?, zxid: Zxid, reusing storage: consuming [UInt8] = []) -> [UInt8] {
        var w = JSONWriter(reusing: storage)
        w.beginSuccess(id: id, zxid: zxid)
        write(into: &w)
        w.endObject()
        return w.line()
    }

    private func write(into w: inout JSONWriter) {
        switch self {
        case .connected(let session, let password, let timeout):
            w.string("session_id", session.hex)
            if let password { w.string("password", Data(password).base64EncodedString()) }
            w.int("timeout_ms", timeout)
        case .done: break
        case .changed(let result): Self.write(result, into: &w)
        case .multi(let results):
            w.beginArray("results")
            for result in results {
                w.beginElementObject()
                Self.write(result, into: &w)
                w.endObject()
            }
            w.endArray()
        case .reads(let results):
            w.beginArray("results")
            for result in results {
                w.beginElementObject()
                switch result {
                case .success(let reply): reply.write(into: &w)
                case .failure(let error): error.write(into: &w)
                }
                w.endObject()
            }
            w.endArray()
        case .node(let data, let stat):
            w.data(data)
            w.stat("stat", stat)
        case .exists(let stat):
            if let stat { w.stat("stat", stat) } else { w.null("stat") }
        case .children(let names, let stat):
            w.beginArray("children")
            for name in names { w.element(name) }
            w.endArray()
            w.stat("stat", stat)
        case .synced(let path): w.string("path", path.string)
        case .watchAdded(let replayed): w.int("replayed", replayed)
        case .watchRemoved(let count): w.int("removed", count)
        case .stats(let s):
            w.int("znodes", s.znodes)
            w.int("sessions", s.sessions)
            w.int("watches", s.watches)
            w.int("connections", s.connections)
            w.int("wal_bytes", s.walBytes)
            w.int("commit_batches", s.commitBatches)
            w.int("committed_changes", s.committedChanges)
            w.int("fsync_us_total", s.fsyncMicrosecondsTotal)
            if let error = s.writeError { w.string("write_error", error) } else { w.null("write_error") }
            if let zxid = s.lastSnapshotZxid { w.int("last_snapshot_zxid", zxid) } else { w.null("last_snapshot_zxid") }
            w.int("uptime_ms", s.uptimeMilliseconds)
            w.string("version", s.version)
            w.int("ephemerals", s.ephemerals)
            w.beginObject("watches_by_kind")
            w.int("data", s.watchesByKind.data)
            w.int("child", s.watchesByKind.child)
            w.int("persistent", s.watchesByKind.persistent)
            w.int("persistent_recursive", s.watchesByKind.persistentRecursive)
            w.endObject()
            w.beginObject("connections_by_front_end")
            w.int("json", s.connectionsByFrontEnd.json)
            w.int("zookeeper", s.connectionsByFrontEnd.zooKeeper)
            w.endObject()
            w.int("wal_segments", s.walSegments)
            w.int("store_map_bytes", s.storeMapBytes)
            w.int("store_used_bytes", s.storeUsedBytes)
            w.int("snapshots_kept", s.snapshots)
            w.int("recovery_ms", s.recoveryMilliseconds)
            w.int("recovery_replayed_changes", s.recoveryReplayedChanges)
            w.beginArray("latency")
            for latency in s.latencies {
                w.beginElementObject()
                w.string("op", latency.op)
                w.int("count", latency.count)
                w.int("p50_us", latency.p50Microseconds)
                w.int("p99_us", latency.p99Microseconds)
                w.endObject()
            }
            w.endArray()
        case .dumped(let nodes): w.int("nodes", nodes)
        case .snapshotTaken(let size, let checksum):
            w.int("size", size)
            w.int("crc32c", checksum)
        case .snapshots(let snapshots):
            w.beginArray("snapshots")
            for snapshot in snapshots {
                w.beginElementObject()
                w.int("zxid", snapshot.zxid)
                w.int("size", snapshot.size)
                w.int("crc32c", snapshot.checksum)
                w.int("created", snapshot.created)
                w.endObject()
            }
            w.endArray()
        case .acl(let acl, let stat):
            w.acl(acl)
            w.stat("stat", stat)
        case .count(let count): w.int("count", count)
        case .sessions(let sessions):
            w.beginArray("open_sessions")
            for session in sessions {
                w.beginElementObject()
                w.string("session_id", session.id.hex)
                w.int("timeout_ms", session.timeoutMilliseconds)
                w.bool("connected", session.connected)
                w.int("idle_ms", session.idleMilliseconds)
                w.int("ephemerals", session.ephemerals)
                w.endObject()
            }
            w.endArray()
        case .paths(let paths):
            w.beginArray("paths")
            for path in paths { w.element(path) }
            w.endArray()
        case .whoAmI(let principals):
            w.beginArray("ids")
            for principal in principals {
                w.beginElementObject()
                w.string("scheme", principal.scheme)
                w.string("id", principal.id)
                w.endObject()
            }
            w.endArray()
        }
    }

    /// A change's result: a single op's at the top level of its reply, each of a multi's in `results`.
    private static func write(_ result: OperationResult, into w: inout JSONWriter) {
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
        case .aclSet(let stat):
            w.string("op", "set_acl")
            w.stat("stat", stat)
        case .countersRestored(let stat):
            w.string("op", "restore_counters")
            w.stat("stat", stat)
        }
    }
}

extension ErrorReply {
    /// The error line `{"id":…,"ok":false,"error":{"code":…,"message":…[,"index"|"oldest_zxid":…]}}`.
    public func line(id: Int64?) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        if let id { w.int("id", id) } else { w.null("id") }
        w.bool("ok", false)
        write(into: &w)
        w.endObject()
        return w.line()
    }

    /// The `error` object, in the line's or a read_multi result's.
    fileprivate func write(into w: inout JSONWriter) {
        w.beginObject("error")
        w.string("code", code.rawValue)
        w.string("message", message)
        if let index { w.int("index", index) }
        if let oldestZxid { w.int("oldest_zxid", oldestZxid) }
        w.endObject()
    }
}

extension ReplyLine {
    /// The line, written into `storage` when it is a success.
    public func line(reusing storage: consuming [UInt8] = []) -> [UInt8] {
        switch outcome {
        case .ok(let zxid, let reply): reply.line(id: id, zxid: zxid, reusing: storage)
        case .failed(let error): error.line(id: id)
        }
    }
}
