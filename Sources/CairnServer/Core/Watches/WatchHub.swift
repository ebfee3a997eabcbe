import CairnCore
import CairnProtocol
import CairnStore
import NIOPosix
import Synchronization

/// The one owner of watches: one-shot data and child watches (ZooKeeper's) and persistent ones (`add_watch`,
/// optionally recursive), their firing, and the replay of history (`since_zxid`) from the WAL. Watches belong to a
/// connection and go with it. An event reaches only a watcher that may READ its node (ZooKeeper 3.9's rule, the fix
/// of CVE-2024-23944): the ACL it had when the change was applied, or for replayed history its node's ACL now (its
/// nearest existing ancestor's when it is gone). A one-shot watch whose event was withheld is spent all the same.
///
/// Firing runs on the store's writer thread for each committed batch (`observe`), before that batch's replies are
/// queued, so a client hears of a change before any later reply that reflects it; and a read is answered only once
/// the events of every change it reflects are posted (`whenDelivered`).
final class WatchHub: Sendable {
    enum OneShot { case data, child }

    private struct Persistent {
        var recursive: Bool
        /// While history is being replayed to the watcher, live events wait here (in order).
        var buffered: [ServerEvent]?
    }

    private struct State {
        var data: [ZNodePath: Set<ConnectionID>] = [:]
        var child: [ZNodePath: Set<ConnectionID>] = [:]
        var persistent: [ZNodePath: [ConnectionID: Persistent]] = [:]
        var perConnection: [ConnectionID: Int] = [:]
        /// The zxid of the last batch whose events were handed out.
        var firedZxid: Zxid = 0
    }

    /// Reads that reflect changes whose events are not posted yet, waiting for `delivered(through:)`.
    private struct Delivery {
        /// Every change up to it has had its events posted to their connections.
        var zxid: Zxid
        var waiting: [(zxid: Zxid, resume: @Sendable () -> Void)] = []
    }

    private let state: Mutex<State>
    private let delivery: Mutex<Delivery>
    private let connections: ConnectionRegistry
    /// Most watches one connection may hold.
    let limit: Int

    init(zxid: Zxid, connections: ConnectionRegistry, limit: Int) {
        state = Mutex(State(firedZxid: zxid))
        delivery = Mutex(Delivery(zxid: zxid))
        self.connections = connections
        self.limit = limit
    }

    /// Fires the watches of every batch `store` commits, posting the events to their connections.
    func observe(_ store: Store) {
        store.observeCommits { [self] changes in
            for (connection, events) in fire(changes) { connections.handle(connection)?.send(events) }
            if let last = changes.last { delivered(through: last.zxid) }
        }
    }

    var count: Int { state.withLock { $0.perConnection.values.reduce(0, +) } }

    /// The watches by kind: one-shot data and child watches, persistent and persistent recursive ones.
    var countsByKind: (data: Int, child: Int, persistent: Int, recursive: Int) {
        state.withLock { s in
            let persistent = s.persistent.values.flatMap(\.values)
            let recursive = persistent.count { $0.recursive }
            return (
                s.data.values.reduce(0) { $0 + $1.count }, s.child.values.reduce(0) { $0 + $1.count },
                persistent.count - recursive, recursive
            )
        }
    }

    /// ZooKeeper's `wchs` figures: the connections that hold watches, the paths watched, the watches.
    var summary: (connections: Int, paths: Int, watches: Int) {
        state.withLock { s in
            let paths = Set(s.data.keys).union(s.child.keys).union(s.persistent.keys)
            let holding = s.perConnection.values.filter { $0 > 0 }
            return (holding.count, paths.count, holding.reduce(0, +))
        }
    }

    func addOneShot(_ kind: OneShot, on path: ZNodePath, for connection: ConnectionID) throws(CairnError) {
        try state.withLock { (s) throws(CairnError) in
            let present = kind == .data ? s.data[path]?.contains(connection) : s.child[path]?.contains(connection)
            guard present != true else { return }
            try Self.count(&s, connection, limit: self.limit)
            switch kind {
            case .data: s.data[path, default: []].insert(connection)
            case .child: s.child[path, default: []].insert(connection)
            }
        }
    }

    /// Adds a persistent watch and returns the zxid up to which events were already handed out. With
    /// `buffering`, live events after that zxid are held until `finishReplay`.
    func addPersistent(on path: ZNodePath, recursive: Bool, for connection: ConnectionID, buffering: Bool)
        throws(CairnError) -> Zxid
    {
        try state.withLock { (s) throws(CairnError) -> Zxid in
            if s.persistent[path]?[connection] == nil { try Self.count(&s, connection, limit: self.limit) }
            s.persistent[path, default: [:]][connection] = Persistent(
                recursive: recursive, buffered: buffering ? [] : nil)
            return s.firedZxid
        }
    }

    /// Ends the buffering of a persistent watch and hands `post` the events held meanwhile, with firing held off:
    /// what `post` queues for the connection comes before any event fired after the buffering ended.
    private func finishReplay(
        on path: ZNodePath, for connection: ConnectionID, _ post: ([ServerEvent]) -> Void
    ) {
        state.withLock { s in
            let held = s.persistent[path]?[connection]?.buffered ?? []
            s.persistent[path]?[connection]?.buffered = nil
            post(held)
        }
    }

    /// Adds a persistent watch for `connection`. With `since` before `current` (the store's zxid), the changes after
    /// it are first read from the WAL on a thread-pool thread: nil is returned and `completion` gets the answer,
    /// the replayed events before the reply and the live events held meanwhile after it. Else the answer is returned.
    func addPersistent(
        on path: ZNodePath, recursive: Bool, since: Zxid?, current: Zxid, for connection: ConnectionID,
        as identity: Identity, history store: Store, completion: @escaping @Sendable (Answer) -> Void
    ) throws(CairnError) -> Answer? {
        guard let since, since < current else {
            let zxid = try addPersistent(on: path, recursive: recursive, for: connection, buffering: false)
            return Answer(.ok(zxid: zxid, .watchAdded(replayed: 0)))
        }
        // Live events after `firedZxid` wait in the watch while history up to it is replayed.
        let firedZxid = try addPersistent(on: path, recursive: recursive, for: connection, buffering: true)
        NIOThreadPool.singleton.submit { [self] _ in
            do {
                var replayed: [(notification: WatchNotification, zxid: Zxid)] = []
                for change in try store.history(after: since) where change.zxid <= firedZxid {
                    for effect in change.effects {
                        for notification in WatchNotification.of(effect)
                        where notification.reaches(persistentWatchOn: path, recursive: recursive) {
                            replayed.append((notification, change.zxid))
                        }
                    }
                }
                // One read view for the ACLs, taken once the history is read (not held while it is).
                if !identity.isSuper {
                    replayed = try store.read { view in
                        try replayed.filter {
                            try identity.permits(.read, in: view.nearestACL(at: $0.notification.path))
                        }
                    }
                }
                let events = replayed.map { ServerEvent.watch($0.notification, zxid: $0.zxid) }
                let reply = ReplyLine.Outcome.ok(zxid: firedZxid, .watchAdded(replayed: events.count))
                finishReplay(on: path, for: connection) { held in
                    completion(Answer(reply, eventsBefore: events, eventsAfter: held))
                }
            } catch {
                remove(recursive ? .recursive : .persistent, on: path, for: connection)
                completion(.failed((error as? CairnError) ?? .internal("reading history: \(error)")))
            }
        }
        return nil
    }

    /// Whether the events of every change up to `zxid` have been posted to their connections: true but for a
    /// read that ran between the writer's LMDB commit and its posting of that batch's events.
    func isDelivered(_ zxid: Zxid) -> Bool { delivery.withLock { $0.zxid >= zxid } }

    /// Runs `resume` once the events of every change up to `zxid` have been posted: at once if they have, else on
    /// the writer thread right after it posts them. Never waits.
    func whenDelivered(_ zxid: Zxid, _ resume: @escaping @Sendable () -> Void) {
        let now = delivery.withLock { d in
            guard d.zxid < zxid else { return true }
            d.waiting.append((zxid, resume))
            return false
        }
        if now { resume() }
    }

    /// The writer posted the events of every change up to `zxid` (after `fire`, once their lines are in the
    /// connections' inboxes): the reads waiting for them go on.
    func delivered(through zxid: Zxid) {
        let due = delivery.withLock { d -> [@Sendable () -> Void] in
            d.zxid = max(d.zxid, zxid)
            guard !d.waiting.isEmpty else { return [] }
            let reached = d.zxid
            let due = d.waiting.filter { $0.zxid <= reached }.map(\.resume)
            d.waiting.removeAll { $0.zxid <= reached }
            return due
        }
        for resume in due { resume() }
    }

    /// Removes the watches of `selection` that `connection` has on `path`; returns how many there were.
    @discardableResult
    func remove(_ selection: WatchSelection, on path: ZNodePath, for connection: ConnectionID) -> Int {
        state.withLock { s in
            let removed = Self.matching(selection, on: path, for: connection, in: &s, removing: true)
            s.perConnection[connection, default: 0] -= removed
            return removed
        }
    }

    /// How many watches of `selection` `connection` has on `path`.
    func count(_ selection: WatchSelection, on path: ZNodePath, for connection: ConnectionID) -> Int {
        state.withLock { s in Self.matching(selection, on: path, for: connection, in: &s, removing: false) }
    }

    private static func matching(
        _ selection: WatchSelection, on path: ZNodePath, for connection: ConnectionID, in s: inout State,
        removing: Bool
    ) -> Int {
        var matched = 0
        let any = selection == .any
        if any || selection == .data, s.data[path]?.contains(connection) == true {
            matched += 1
            if removing {
                s.data[path]!.remove(connection)
                if s.data[path]!.isEmpty { s.data[path] = nil }
            }
        }
        if any || selection == .child, s.child[path]?.contains(connection) == true {
            matched += 1
            if removing {
                s.child[path]!.remove(connection)
                if s.child[path]!.isEmpty { s.child[path] = nil }
            }
        }
        if let watch = s.persistent[path]?[connection], any || selection == (watch.recursive ? .recursive : .persistent)
        {
            matched += 1
            if removing {
                s.persistent[path]![connection] = nil
                if s.persistent[path]!.isEmpty { s.persistent[path] = nil }
            }
        }
        return matched
    }

    func removeConnection(_ connection: ConnectionID) {
        state.withLock { s in
            for path in Array(s.data.keys) where s.data[path]!.remove(connection) != nil {
                if s.data[path]!.isEmpty { s.data[path] = nil }
            }
            for path in Array(s.child.keys) where s.child[path]!.remove(connection) != nil {
                if s.child[path]!.isEmpty { s.child[path] = nil }
            }
            for path in Array(s.persistent.keys) where s.persistent[path]!.removeValue(forKey: connection) != nil {
                if s.persistent[path]!.isEmpty { s.persistent[path] = nil }
            }
            s.perConnection[connection] = nil
        }
    }

    /// The events each connection must get for a committed batch; one-shot watches that fired are removed.
    func fire(_ changes: [Change]) -> [ConnectionID: [PushedEvent]] {
        state.withLock { s in
            var out: [ConnectionID: [PushedEvent]] = [:]
            guard !s.data.isEmpty || !s.child.isEmpty || !s.persistent.isEmpty else {
                s.firedZxid = changes.last?.zxid ?? s.firedZxid
                return out
            }
            for change in changes {
                var index = 0
                for effect in change.effects {
                    for notification in WatchNotification.of(effect) {
                        let acl = change.notificationACLs?[index] ?? .open
                        index += 1
                        fire(notification, zxid: change.zxid, readableWith: acl, &s, into: &out)
                    }
                }
                s.firedZxid = change.zxid
            }
            return out
        }
    }

    /// Whether `connection` may hear of a change on a node with `acl`.
    private func mayRead(_ connection: ConnectionID, _ acl: ACL) -> Bool {
        acl.isOpen || connections.handle(connection)?.identity.current.permits(.read, in: acl) == true
    }

    private func fire(
        _ notification: WatchNotification, zxid: Zxid, readableWith acl: ACL, _ s: inout State,
        into out: inout [ConnectionID: [PushedEvent]]
    ) {
        var audience = Set<ConnectionID>()
        let path = notification.path
        if notification.reachesDataWatch, let watchers = s.data.removeValue(forKey: path) {
            audience.formUnion(watchers)
        }
        if notification.reachesChildWatch, let watchers = s.child.removeValue(forKey: path) {
            audience.formUnion(watchers)
        }
        for connection in audience { s.perConnection[connection, default: 0] -= 1 }
        // A watcher with both a data and a child watch on the path hears the event once.
        let event = ServerEvent.watch(notification, zxid: zxid)
        var candidate: ZNodePath? = s.persistent.isEmpty ? nil : path
        while let watchPath = candidate {
            if let persistent = s.persistent[watchPath] {
                for (connection, watch) in persistent
                where notification.reaches(persistentWatchOn: watchPath, recursive: watch.recursive) {
                    guard mayRead(connection, acl) else { continue }
                    if watch.buffered != nil {
                        s.persistent[watchPath]![connection]!.buffered!.append(event)
                    } else {
                        audience.insert(connection)
                    }
                }
            }
            candidate = watchPath.parent
        }
        if !acl.isOpen { audience = audience.filter { mayRead($0, acl) } }
        guard !audience.isEmpty else { return }
        let pushed = PushedEvent(event)
        for connection in audience { out[connection, default: []].append(pushed) }
    }

    private static func count(_ s: inout State, _ connection: ConnectionID, limit: Int) throws(CairnError) {
        let current = s.perConnection[connection, default: 0]
        guard current < limit else { throw .tooLarge("this connection already has \(limit) watches, the limit") }
        s.perConnection[connection] = current + 1
    }
}
