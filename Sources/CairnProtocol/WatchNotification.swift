import CairnCore

/// What one effect of a change tells watchers: an event type at a path.
public struct WatchNotification: Hashable, Sendable {
    public var type: WatchEventType
    public var path: ZNodePath

    public init(type: WatchEventType, path: ZNodePath) {
        self.type = type
        self.path = path
    }

    /// The notifications of an effect, ZooKeeper's way: a create tells `created` at the node and
    /// `children_changed` at its parent; a delete `deleted` and `children_changed`; a set `data_changed`; an ACL
    /// change or a restore of counters nothing.
    public static func of(_ effect: Change.Effect) -> [WatchNotification] {
        switch effect {
        case .createNode(let path, _, _, _, _):
            [WatchNotification(type: .created, path: path)] + parentChange(path)
        case .deleteNode(let path):
            [WatchNotification(type: .deleted, path: path)] + parentChange(path)
        case .setData(let path, _):
            [WatchNotification(type: .dataChanged, path: path)]
        case .check, .setACL, .restoreCounters, .createSession, .closeSession:
            []
        }
    }

    private static func parentChange(_ path: ZNodePath) -> [WatchNotification] {
        path.parent.map { [WatchNotification(type: .childrenChanged, path: $0)] } ?? []
    }

    /// Whether a persistent watch on `watchPath` hears this: an exact watch hears every type at its path;
    /// a recursive one hears created, deleted and data_changed at its path and below.
    public func reaches(persistentWatchOn watchPath: ZNodePath, recursive: Bool) -> Bool {
        recursive ? type != .childrenChanged && path.isDescendant(ofOrEqualTo: watchPath) : path == watchPath
    }

    /// Whether a one-shot data watch (from get/exists) hears this.
    public var reachesDataWatch: Bool { type != .childrenChanged }

    /// Whether a one-shot child watch (from children) hears this: child changes, and the node's deletion.
    public var reachesChildWatch: Bool { type == .childrenChanged || type == .deleted }

    /// The pushed line: `{"event":"watch","type":...,"path":...,"zxid":N}`.
    public func line(zxid: Zxid) -> [UInt8] {
        var w = JSONWriter(capacity: 96 + path.string.utf8.count)
        w.beginObject()
        w.string("event", "watch")
        w.string("type", type.rawValue)
        w.string("path", path.string)
        w.int("zxid", zxid)
        w.endObject()
        return w.line()
    }
}
