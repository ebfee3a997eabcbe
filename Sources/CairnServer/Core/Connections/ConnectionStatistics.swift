import CairnCore
import CairnProtocol
import Synchronization

/// A connection's request figures, as ZooKeeper's four-letter words show them (`cons`, `stat`, `srvr`, `mntr`):
/// written by the connection's event loop only, read by any thread. Each figure is a relaxed atomic: exact by itself, not
/// a snapshot across them (as in ZooKeeper).
final class ConnectionStatistics: Sendable {
    /// The peer as ZooKeeper prints it (`/127.0.0.1:55098`).
    let peer: String
    /// ms since the epoch.
    let established = Int64(SystemClock.wallMilliseconds())
    private let received = Atomic<UInt64>(0)
    private let sent = Atomic<UInt64>(0)
    private let answered = Atomic<UInt64>(0)
    private let latencyTotal = Atomic<UInt64>(0)
    private let latencyMin = Atomic<UInt64>(.max)
    private let latencyMax = Atomic<UInt64>(0)
    private let lastLatency = Atomic<UInt64>(0)
    private let lastOperation = Atomic<UInt8>(OperationName.none.rawValue)
    private let lastZxid = Atomic<UInt64>(0)
    /// ms since the epoch.
    private let lastResponse = Atomic<Int64>(0)
    private let session = Atomic<UInt64>(0)
    private let timeout = Atomic<Int64>(0)

    init(peer: String) { self.peer = peer }

    // One writer: a load and a store are enough (no locked read-modify-write on the hot path).

    func requestReceived() { Self.increase(received, by: 1) }

    /// Notifications and other unrequested frames.
    func pushed(_ count: Int) { Self.increase(sent, by: UInt64(count)) }

    /// An answer written, `latency` ms after its request was read.
    func answered(_ operation: OperationName, zxid: Zxid?, latency: UInt64, at now: Int64) {
        Self.increase(sent, by: 1)
        Self.increase(answered, by: 1)
        Self.increase(latencyTotal, by: latency)
        if latency < latencyMin.load(ordering: .relaxed) { latencyMin.store(latency, ordering: .relaxed) }
        if latency > latencyMax.load(ordering: .relaxed) { latencyMax.store(latency, ordering: .relaxed) }
        lastLatency.store(latency, ordering: .relaxed)
        lastOperation.store(operation.rawValue, ordering: .relaxed)
        if let zxid { lastZxid.store(zxid, ordering: .relaxed) }
        lastResponse.store(now, ordering: .relaxed)
    }

    private static func increase(_ figure: borrowing Atomic<UInt64>, by amount: UInt64) {
        figure.store(figure.load(ordering: .relaxed) &+ amount, ordering: .relaxed)
    }

    /// The session the connection now has (nil: none), with its timeout.
    func attached(_ id: SessionID?, timeoutMilliseconds: Int64) {
        session.store(id?.rawValue ?? 0, ordering: .relaxed)
        timeout.store(timeoutMilliseconds, ordering: .relaxed)
    }

    /// The figures now.
    var snapshot: Snapshot {
        let count = answered.load(ordering: .relaxed)
        return Snapshot(
            received: received.load(ordering: .relaxed), sent: sent.load(ordering: .relaxed),
            latency: Latency(
                count: count, total: latencyTotal.load(ordering: .relaxed),
                min: count == 0 ? 0 : latencyMin.load(ordering: .relaxed), max: latencyMax.load(ordering: .relaxed)),
            lastLatency: lastLatency.load(ordering: .relaxed),
            lastOperation: OperationName(rawValue: lastOperation.load(ordering: .relaxed)) ?? .none,
            lastZxid: lastZxid.load(ordering: .relaxed), lastResponse: lastResponse.load(ordering: .relaxed),
            session: session.load(ordering: .relaxed), timeout: timeout.load(ordering: .relaxed))
    }

    struct Snapshot: Sendable {
        var received: UInt64
        var sent: UInt64
        var latency: Latency
        var lastLatency: UInt64
        var lastOperation: OperationName
        var lastZxid: Zxid
        var lastResponse: Int64
        /// 0: none.
        var session: UInt64
        var timeout: Int64

        /// Requests read and not answered yet.
        var outstanding: UInt64 { received - min(received, latency.count) }
    }
}

/// Request latencies in ms: how many, their sum, the least and the most.
struct Latency: Sendable {
    var count: UInt64 = 0
    var total: UInt64 = 0
    var min: UInt64 = 0
    var max: UInt64 = 0

    /// Both sets of requests.
    func merged(with other: Latency) -> Latency {
        guard count > 0 else { return other }
        guard other.count > 0 else { return self }
        return Latency(
            count: count + other.count, total: total + other.total, min: Swift.min(min, other.min),
            max: Swift.max(max, other.max))
    }

    /// ZooKeeper's average: to four places, printed as Java prints a double (`6.3333`, `0.0`).
    var average: Double { count == 0 ? 0 : (Double(total) / Double(count) * 10_000).rounded() / 10_000 }
}

/// An op's name in ZooKeeper's `cons` (`lop=`), as its FinalRequestProcessor names them.
enum OperationName: UInt8, CaseIterable, Sendable {
    case none, ping, session, close, create, delete, setData, check, setACL, multi, multiRead, exists, getData
    case getChildren, getACL, sync, setWatches, addWatch, checkWatches, removeWatches, ephemerals, childrenNumber
    case whoAmI, auth, stats, dump, snapshot, sessions

    init(_ request: ClientRequest) {
        switch request {
        case .connect: self = .session
        case .ping: self = .ping
        case .close: self = .close
        case .change(.create): self = .create
        case .change(.delete): self = .delete
        case .change(.setData): self = .setData
        case .change(.check): self = .check
        // restore_counters comes in a multi only.
        case .change(.setACL), .change(.restoreCounters): self = .setACL
        case .multi, .bulk: self = .multi
        case .readMulti: self = .multiRead
        case .get: self = .getData
        case .exists: self = .exists
        case .children: self = .getChildren
        case .sync: self = .sync
        case .addWatch: self = .addWatch
        case .removeWatch: self = .removeWatches
        case .countWatches: self = .checkWatches
        case .stats: self = .stats
        case .sessions: self = .sessions
        case .dump: self = .dump
        case .snapshot, .listSnapshots: self = .snapshot
        case .auth: self = .auth
        case .getACL: self = .getACL
        case .whoAmI: self = .whoAmI
        case .descendantCount: self = .childrenNumber
        case .ephemerals: self = .ephemerals
        case .restoreWatches: self = .setWatches
        }
    }

    var text: String {
        switch self {
        case .none: "NA"
        case .ping: "PING"
        case .session: "SESS"
        case .close: "CLOS"
        case .create: "CREA"
        case .delete: "DELE"
        case .setData: "SETD"
        case .check: "CHEC"
        case .setACL: "SETA"
        case .multi: "MULT"
        case .multiRead: "MLTR"
        case .exists: "EXIS"
        case .getData: "GETD"
        case .getChildren: "GETC"
        case .getACL: "GETA"
        case .sync: "SYNC"
        case .setWatches: "SETW"
        case .addWatch: "ADDW"
        case .checkWatches: "CHKW"
        case .removeWatches: "REMW"
        case .ephemerals: "GETE"
        case .childrenNumber: "GETACN"
        case .whoAmI: "HOMI"
        case .auth: "AUTH"
        case .stats: "STAT"
        case .sessions: "SESL"
        case .dump: "DUMP"
        case .snapshot: "SNAP"
        }
    }
}
