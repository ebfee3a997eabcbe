import CairnCore
import FoundationEssentials

extension ClientRequest {
    /// The request line: `{"id":<id>,"op":"<op>",…}` and a newline.
    public func line(id: Int64) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.int("id", id)
        write(into: &w)
        w.endObject()
        return w.line()
    }

    private func write(into w: inout JSONWriter) {
        switch self {
        case .connect(let timeout, let resume):
            w.string("op", "connect")
            w.int("timeout_ms", timeout)
            if let resume {
                w.string("session_id", resume.id.hex)
                w.string("password", Data(resume.password).base64EncodedString())
            }
        case .ping: w.string("op", "ping")
        case .close: w.string("op", "close")
        case .change(let operation): Self.write(operation, into: &w)
        case .multi(let operations), .bulk(let operations):
            w.string("op", "multi")
            if case .bulk = self { w.bool("results", false) }
            w.beginArray("ops")
            for operation in operations {
                w.beginElementObject()
                Self.write(operation, into: &w)
                w.endObject()
            }
            w.endArray()
        case .readMulti(let reads):
            w.string("op", "read_multi")
            w.beginArray("ops")
            for read in reads {
                w.beginElementObject()
                switch read {
                case .get(let path): Self.withPath("get", path, watch: false, into: &w)
                case .children(let path): Self.withPath("children", path, watch: false, into: &w)
                }
                w.endObject()
            }
            w.endArray()
        case .get(let path, let watch): Self.withPath("get", path, watch: watch, into: &w)
        case .exists(let path, let watch): Self.withPath("exists", path, watch: watch, into: &w)
        case .children(let path, let watch): Self.withPath("children", path, watch: watch, into: &w)
        case .sync(let path): Self.withPath("sync", path, watch: false, into: &w)
        case .addWatch(let path, let recursive, let since):
            Self.withPath("add_watch", path, watch: false, into: &w)
            if recursive { w.bool("recursive", true) }
            if let since { w.int("since_zxid", since) }
        case .removeWatch(let path, let selection):
            Self.withPath("remove_watch", path, watch: false, into: &w)
            if selection != .any { w.string("type", selection.rawValue) }
        case .countWatches(let path, let selection):
            Self.withPath("count_watches", path, watch: false, into: &w)
            if selection != .any { w.string("type", selection.rawValue) }
        case .stats: w.string("op", "stats")
        case .sessions: w.string("op", "sessions")
        case .dump(let path): Self.withPath("dump", path, watch: false, into: &w)
        case .snapshot: w.string("op", "snapshot")
        case .listSnapshots: w.string("op", "snapshots")
        case .auth(let scheme, let credentials):
            w.string("op", "auth")
            w.string("scheme", scheme)
            w.string("credentials", credentials)
        case .getACL(let path): Self.withPath("get_acl", path, watch: false, into: &w)
        case .whoAmI: w.string("op", "whoami")
        case .descendantCount(let path): Self.withPath("count_descendants", path, watch: false, into: &w)
        case .ephemerals(let prefix, let session):
            w.string("op", "ephemerals")
            if !prefix.isEmpty { w.string("prefix", prefix) }
            if let session { w.string("session_id", session.hex) }
        case .restoreWatches(let restore):
            w.string("op", "set_watches")
            w.int("relative_zxid", restore.relativeZxid)
            let lists: [(StaticString, [ZNodePath])] = [
                ("data_watches", restore.data), ("exist_watches", restore.exist), ("child_watches", restore.child),
                ("persistent_watches", restore.persistent), ("recursive_watches", restore.persistentRecursive),
            ]
            for (key, paths) in lists where !paths.isEmpty {
                w.beginArray(key)
                for path in paths { w.element(path.string) }
                w.endArray()
            }
        }
    }

    /// The op's name and its path, and `watch` when set.
    private static func withPath(_ op: String, _ path: ZNodePath, watch: Bool, into w: inout JSONWriter) {
        w.string("op", op)
        w.string("path", path.string)
        if watch { w.bool("watch", true) }
    }

    private static func write(_ operation: Operation, into w: inout JSONWriter) {
        switch operation {
        case .create(let path, let data, let kind, let sequential, let acl):
            w.string("op", "create")
            w.string("path", path)
            if data != [] { w.data(data) }  // nil: "data": null
            switch kind {
            case .persistent: break
            case .ephemeral: w.bool("ephemeral", true)
            case .container: w.bool("container", true)
            case .persistentWithTTL(let ttl): w.int("ttl_ms", ttl)
            }
            if sequential { w.bool("sequential", true) }
            if !acl.isOpen { w.acl(acl) }
        case .setData(let path, let data, let version):
            w.string("op", "set")
            w.string("path", path.string)
            w.data(data)
            w.int("version", version)
        case .delete(let path, let version):
            w.string("op", "delete")
            w.string("path", path.string)
            w.int("version", version)
        case .check(let path, let version):
            w.string("op", "check")
            w.string("path", path.string)
            w.int("version", version)
        case .setACL(let path, let acl, let version):
            w.string("op", "set_acl")
            w.string("path", path.string)
            w.acl(acl)
            w.int("aversion", version)
        case .restoreCounters(let path, let counters):
            w.string("op", "restore_counters")
            w.string("path", path.string)
            w.int("seq", counters.sequence)
            w.int("version", counters.version)
            w.int("aversion", counters.aversion)
        }
    }
}
