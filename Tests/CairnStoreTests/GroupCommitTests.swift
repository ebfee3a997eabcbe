import CairnCore
import CairnStore
import CairnTesting
import Dispatch
import Foundation
import Synchronization
import Testing

@Suite("Group commit: a batch of requests behaves exactly like the same requests one at a time")
struct GroupCommitTests {
    /// The writer keeps the records of parents, their ids by path and the node id counter in memory for the
    /// length of a batch; a request later in the batch (or a multi rolled back in the middle of it) must see
    /// precisely what it would see had every request been committed alone.
    @Test("600 mixed requests submitted at once give the outcomes and tree of one-at-a-time commits, and replay to it")
    func batchedEqualsOneAtATime() throws {
        let requests = Self.workload(count: 600)

        let alone = try StoreFixture()
        let aloneOutcomes = requests.map { request in
            Self.normalized(
                Result { () throws(CairnError) in
                    try alone.store.commitBlocking(request.request, session: request.session)
                })
        }

        let batched = try StoreFixture()
        let outcomes = Mutex<[Int: Result<Committed, CairnError>]>([:])
        let done = DispatchGroup()
        for (index, request) in requests.enumerated() {
            done.enter()
            batched.store.submit(request.request, session: request.session) { outcome in
                outcomes.withLock { $0[index] = outcome }
                done.leave()
            }
        }
        done.wait()
        let batchedOutcomes = outcomes.withLock { all in (0..<requests.count).map { Self.normalized(all[$0]!) } }
        let statistics = batched.store.writerStatistics
        try #require(statistics.batches < requests.count / 4, "the requests were not batched: \(statistics)")

        #expect(batchedOutcomes == aloneOutcomes)
        let tree = try batched.tree()
        #expect(tree.map(Self.normalized) == (try alone.tree()).map(Self.normalized))
        let failures = aloneOutcomes.filter { if case .failure = $0 { true } else { false } }.count
        #expect(failures > 50 && failures < 450, "the workload exercises both outcomes (\(failures) failures)")

        // Replaying the batched store's log from nothing (no snapshot) gives the same tree, times and all.
        batched.store.close()
        try FileManager.default.removeItem(atPath: batched.data.store)
        try batched.reopen()
        #expect(batched.store.recovery.replayedChanges == statistics.changes)
        #expect(try batched.tree() == tree)
    }

    struct Submission {
        var request: Request
        var session: SessionID?
    }

    /// Creates, deletes, sets, checks and multis (passing and failing) over a few parents that are deleted
    /// and created again, with ephemerals of two sessions, a session closed mid-way, and container reaping.
    static func workload(count: Int) -> [Submission] {
        var random = SplitMix64(seed: 0xC0FFEE)
        let sessions = [SessionID(rawValue: 11), SessionID(rawValue: 12)]
        let hash = [UInt8](repeating: 7, count: 32)
        var requests: [Submission] = sessions.map {
            Submission(request: .createSession(id: $0, timeoutMilliseconds: 60_000, passwordHash: hash))
        }
        requests += (0..<3).map {
            Submission(request: .operation(.create(path: "/p\($0)", data: [], kind: .persistent, sequential: false)))
        }
        requests.append(
            Submission(request: .operation(.create(path: "/box", data: [], kind: .container, sequential: false))))
        func parent() -> String { "/p\(random.next(3))" }
        func child() -> String { "\(parent())/c\(random.next(12))" }
        func data() -> [UInt8] { Array("v\(random.next(1000))".utf8) }
        func version() -> Int32 { random.next(4) == 0 ? -1 : Int32(random.next(3)) }
        func create(_ path: String, sequential: Bool = false) -> CairnCore.Operation {
            .create(path: path, data: data(), kind: .persistent, sequential: sequential)
        }
        while requests.count < count {
            let session = sessions[random.next(2)]
            let operation: Request
            switch random.next(14) {
            case 0, 1, 2: operation = .operation(create(child()))
            case 3: operation = .operation(create("\(parent())/s-", sequential: true))
            case 4:
                operation = .operation(
                    .create(path: child(), data: data(), kind: .ephemeral, sequential: random.next(2) == 0))
            case 5, 6: operation = .operation(.delete(path: path(child()), version: version()))
            case 7: operation = .operation(.delete(path: path(parent()), version: -1))
            case 8: operation = .operation(create(parent()))
            case 9: operation = .operation(.setData(path: path(parent()), data: data(), version: version()))
            case 10: operation = .operation(.check(path: path(parent()), version: version()))
            case 11:
                let target = parent()
                operation = .multi([
                    create("\(target)/m\(random.next(6))"), .setData(path: path(target), data: data(), version: -1),
                    .check(path: path(parent()), version: version()), create("\(target)/m\(random.next(6))"),
                ])
            case 12:
                switch random.next(3) {
                case 0: operation = .operation(.create(path: "/box", data: [], kind: .container, sequential: false))
                case 1: operation = .operation(create("/box/b\(random.next(3))"))
                default: operation = .operation(.delete(path: path("/box/b\(random.next(3))"), version: -1))
                }
            default:
                operation = random.next(8) == 0 ? .closeSession(session) : .reap(now: 0)
            }
            let owned: Bool
            if case .operation(.create(_, _, .ephemeral, _, _)) = operation { owned = true } else { owned = false }
            requests.append(Submission(request: operation, session: owned ? session : nil))
            if case .closeSession(let id) = operation {
                requests.append(
                    Submission(request: .createSession(id: id, timeoutMilliseconds: 60_000, passwordHash: hash)))
            }
        }
        return requests
    }

    /// An outcome without wall-clock times (the two stores commit at different moments).
    static func normalized(_ outcome: Result<Committed, CairnError>) -> Result<Committed, CairnError> {
        outcome.map { committed in
            var committed = committed
            committed.results = committed.results.map { result in
                switch result {
                case .created(let path, let stat): .created(path: path, stat: timeless(stat))
                case .set(let stat): .set(stat: timeless(stat))
                case .aclSet(let stat): .aclSet(stat: timeless(stat))
                case .countersRestored(let stat): .countersRestored(stat: timeless(stat))
                case .deleted, .checked: result
                }
            }
            committed.change?.time = 0
            return committed
        }
    }

    static func normalized(_ node: ZNode) -> ZNode {
        var node = node
        node.stat = timeless(node.stat)
        return node
    }

    static func timeless(_ stat: Stat) -> Stat {
        var stat = stat
        stat.ctime = 0
        stat.mtime = 0
        return stat
    }
}

extension SplitMix64 {
    /// A number below `bound`.
    mutating func next(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}
