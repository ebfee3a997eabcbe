import CairnCore
import Testing

@testable import CairnProtocol

/// The typed messages are the protocol: what one side encodes, the other decodes to the same value.
@Suite("Typed requests, replies and events round-trip through their lines")
struct MessageRoundTripTests {
    static let path = try! ZNodePath("/a/b")
    static let stat = Stat(
        czxid: 1, mzxid: 2, pzxid: 3, ctime: 4, mtime: 5, version: 6, cversion: 7, aversion: 5,
        ephemeralOwner: SessionID(rawValue: 0xABC), dataLength: 3, numChildren: 2)

    static let requests: [ClientRequest] = [
        .connect(timeoutMilliseconds: 5000, resume: nil),
        .connect(
            timeoutMilliseconds: 10_000, resume: SessionCredentials(id: SessionID(rawValue: 42), password: [1, 2, 255])),
        .ping, .close,
        .change(.create(path: "/q/lock-", data: Array("text".utf8), kind: .ephemeral, sequential: true)),
        .change(
            .create(path: "/t", data: [0xFF, 0], kind: .persistentWithTTL(ttlMilliseconds: 60_000), sequential: false)),
        .change(.create(path: "/c", data: [], kind: .container, sequential: false)),
        .change(.create(path: "/null", data: nil, kind: .persistent, sequential: false)),
        .change(.setData(path: path, data: nil, version: 0)),
        .change(.setData(path: path, data: Array("v\n\"2\"".utf8), version: 3)),
        .change(.delete(path: path, version: -1)),
        .change(.check(path: path, version: 0)),
        .multi([
            .create(path: "/m", data: [], kind: .persistent, sequential: false), .check(path: path, version: 1),
            .create(path: "/m/null", data: nil, kind: .persistent, sequential: false),
            .restoreCounters(path: path, counters: NodeCounters(sequence: 8, version: 2, aversion: 1)),
        ]),
        .bulk([.create(path: "/b", data: [1], kind: .persistent, sequential: false), .delete(path: path, version: 2)]),
        .readMulti([.get(path), .children(.root)]),
        .get(path, watch: true), .exists(path, watch: false), .children(.root, watch: true), .sync(path),
        .addWatch(path, recursive: true, since: 99), .addWatch(path, recursive: false, since: nil),
        .removeWatch(path, .any), .removeWatch(path, .recursive), .countWatches(path, .child), .stats,
        .dump(path), .dump(.root), .snapshot, .listSnapshots,
        .change(
            .create(
                path: "/acl", data: [], kind: .persistent, sequential: false,
                acl: [ACLEntry(.all, Principal(scheme: "digest", id: "bob:x=")), ACLEntry(.read, .anyone)])),
        .change(
            .setACL(
                path: path, acl: [ACLEntry([.read, .admin], Principal(scheme: "ip", id: "10.0.0.0/8"))], version: 2)),
        .auth(scheme: "digest", credentials: "bob:s3cret"), .getACL(path), .whoAmI, .descendantCount(path),
        .ephemerals(prefix: "/svc"), .ephemerals(prefix: ""),
        .restoreWatches(
            WatchRestore(relativeZxid: 7, data: [path], exist: [.root], child: [], persistentRecursive: [path])),
    ]

    @Test("every request decodes, on the server's side, to the request the client encoded")
    func requests() throws {
        let decoder = RequestDecoder(maxOpsPerMulti: 100)
        for (index, request) in Self.requests.enumerated() {
            let line = request.line(id: Int64(index))
            let decoded = try #require(line.dropLast().withUnsafeBytes(decoder.decode))
            #expect(decoded.id == Int64(index))
            #expect((try? decoded.request.get()) == request, "\(String(decoding: line, as: UTF8.self))")
        }
    }

    static let replies: [(Reply, ReplyKind)] = [
        (.connected(session: SessionID(rawValue: 7), password: [9, 8, 7], timeoutMilliseconds: 4000), .connected),
        (.connected(session: SessionID(rawValue: 7), password: nil, timeoutMilliseconds: 4000), .connected),
        (.done, .done),
        (.changed(.created(path: path, stat: stat)), .changed), (.changed(.set(stat: stat)), .changed),
        (.changed(.deleted), .changed), (.changed(.checked), .changed),
        (
            .multi([
                .created(path: path, stat: stat), .deleted, .checked, .set(stat: stat), .countersRestored(stat: stat),
            ]), .multi
        ),
        (
            .reads([
                .success(.node(data: [0, 0xFF], stat: stat)), .failure(ErrorReply(.noNode(path))),
                .success(.children(["x"], stat: stat)), .success(.node(data: Array("t".utf8), stat: stat)),
            ]), .reads
        ),
        (.node(data: [0, 1, 0xFE], stat: stat), .node), (.node(data: Array("text".utf8), stat: stat), .node),
        (.exists(stat), .exists), (.exists(nil), .exists),
        (.children(["x", "y"], stat: stat), .children), (.synced(path: path), .synced),
        (.watchAdded(replayed: 3), .watchAdded), (.watchRemoved(count: 2), .watchRemoved),
        (.changed(.aclSet(stat: stat)), .changed),
        (.acl([ACLEntry(.all, Principal(scheme: "digest", id: "bob:x"))], stat: stat), .acl),
        (.acl(.open, stat: stat), .acl),
        (.whoAmI([Principal(scheme: "ip", id: "127.0.0.1"), Principal(scheme: "digest", id: "bob:h=")]), .whoAmI),
        (.count(12), .count), (.paths(["/a/b", "/c"]), .paths), (.paths([]), .paths),
        (
            .stats(
                ServerStatistics(
                    znodes: 1, sessions: 2, watches: 3, connections: 4, walBytes: 5, commitBatches: 6,
                    committedChanges: 7, fsyncMicrosecondsTotal: 8, writeError: "disk full", lastSnapshotZxid: 9,
                    uptimeMilliseconds: 10, version: "0.1.0")), .stats
        ),
        (
            .stats(
                ServerStatistics(
                    znodes: 1, sessions: 0, watches: 0, connections: 1, walBytes: 0, commitBatches: 0,
                    committedChanges: 0, fsyncMicrosecondsTotal: 0, writeError: nil, lastSnapshotZxid: nil,
                    uptimeMilliseconds: 0, version: "x")), .stats
        ),
        (.dumped(nodes: 12), .dumped), (.snapshotTaken(size: 4096, checksum: 0xDEAD_BEEF), .snapshotTaken),
        (.snapshots([SnapshotSummary(zxid: 5, size: 6, checksum: 7, created: 8)]), .snapshots),
    ]

    @Test("every reply decodes, on the client's side and read as its request's kind, to the reply the server encoded")
    func replies() throws {
        for (index, (reply, kind)) in Self.replies.enumerated() {
            let line = reply.line(id: Int64(index), zxid: 77)
            guard case .reply(let incoming) = try ServerLine.decode(Array(line.dropLast())) else {
                Issue.record("not read as a reply: \(String(decoding: line, as: UTF8.self))")
                continue
            }
            #expect(incoming.line(as: kind) == ReplyLine(id: Int64(index), .ok(zxid: 77, reply)))
            #expect(line.withUnsafeBytes { ServerLine.summary(of: $0) } == .succeeded)
        }
    }

    @Test("error replies keep their code, message, multi index and oldest zxid; a reply missing fields is an error")
    func errors() throws {
        for error in [
            CairnError.multiFailed(index: 2, cause: .badVersion(Self.path, expected: 1, actual: 2)),
            .compacted(requested: 3, oldestAvailable: 10), .sessionRequired,
        ] {
            let line = ErrorReply(error).line(id: 5)
            guard case .reply(let incoming) = try ServerLine.decode(Array(line.dropLast())) else {
                Issue.record("not a reply")
                continue
            }
            #expect(incoming.line(as: .changed) == ReplyLine(id: 5, .failed(ErrorReply(error))))
            #expect(line.withUnsafeBytes { ServerLine.summary(of: $0) } == .failed)
        }
        let line = Reply.done.line(id: 1, zxid: 2)
        guard case .reply(let incoming) = try ServerLine.decode(Array(line.dropLast())) else { return }
        guard case .failed(let error) = incoming.line(as: .node).outcome else {
            Issue.record("a reply without a node read as a node")
            return
        }
        #expect(error.code == .internal)
    }

    @Test("events decode to the event encoded; a dump's node line is carried byte for byte")
    func events() throws {
        let node = ZNode(path: Self.path, data: [1, 2], stat: Self.stat, kind: .persistent)
        var nodeLine = DumpFormat.line(node)
        nodeLine.removeLast()
        let events: [ServerEvent] = [
            .watch(WatchNotification(type: .childrenChanged, path: Self.path), zxid: 8),
            .sessionExpired(SessionID(rawValue: 0xFFFF_FFFF_FFFF_FFFF)), .dumpStart(zxid: 3, root: .root),
            .dumpNode(line: nodeLine), .snapshotChunk([0, 1, 2, 0xFF]),
        ]
        for event in events {
            let line = event.line()
            guard case .event(let decoded) = try ServerLine.decode(Array(line.dropLast())) else {
                Issue.record("not read as an event: \(String(decoding: line, as: UTF8.self))")
                continue
            }
            #expect(decoded == event)
            #expect(line.withUnsafeBytes { ServerLine.summary(of: $0) } == .event)
        }
    }

    @Test("the created path is found in a create's reply")
    func createdPath() {
        let line = Reply.changed(.created(path: Self.path, stat: Self.stat)).line(id: 1, zxid: 2)
        let found = line.withUnsafeBytes { bytes in
            ServerLine.createdPath(inReply: bytes).map { String(decoding: bytes[$0], as: UTF8.self) }
        }
        #expect(found == "/a/b")
    }
}
