import CairnCore
import CairnTesting
import Foundation
import Testing

@testable import CairnStore

/// Values already on disk that no request may write any more (written before a bound existed, or by hand)
/// must never take the server down at start or later.
@Suite("Stored values at their extremes load, and the server lives with them")
struct StoredValuesTests {
    @Test("a node with an Int64.max TTL or a time near the end of Int64, a session with an Int64.max timeout")
    func extremeStoredValues() throws {
        let (keep, _, segment) = try DamagedFilesTests.makeLog(count: 1)
        defer { withExtendedLifetime(keep) {} }
        var records = try FileSystem.readAll(segment)
        var frames = ByteWriter()
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let session = SessionID(rawValue: 0xABCD)
        WALRecord.append(
            Change(
                zxid: 2, time: now, session: nil,
                effects: [
                    .createNode(
                        path: path("/forever"), data: [], kind: .persistentWithTTL(ttlMilliseconds: .max), owner: nil),
                    .createSession(
                        id: session, timeoutMilliseconds: .max, passwordHash: Array(repeating: 1, count: 32)),
                ]), to: &frames)
        WALRecord.append(
            Change(
                zxid: 3, time: .max - 10, session: nil,
                effects: [
                    .createNode(
                        path: path("/late"), data: [], kind: .persistentWithTTL(ttlMilliseconds: 1000), owner: nil)
                ]),
            to: &frames)
        records += frames.bytes
        let directory = TemporaryDirectory("cairn-stored")
        let data = DataDirectory(directory.appending("data"))
        try data.create()
        try FileSystem.writeAtomically(
            records, to: WALSegment(firstZxid: 1, directory: data.wal).path, directory: data.wal)

        let server = try ServerProcess(dataDirectory: data.path)
        let c = try server.client()
        try c.connect()
        // Past two reaper rounds and a session expiry check: the server still answers, nothing was reaped.
        Thread.sleep(forTimeInterval: 2.5)
        for node in ["/forever", "/late"] {
            #expect(try c.call(["op": "exists", "path": node])["stat"] is [String: Any], "\(node) is kept")
        }
        server.kill()
        let restarted = try server.restarted()
        let again = try restarted.client()
        try again.connect()
        Thread.sleep(forTimeInterval: 2.5)
        #expect(
            try again.call(["op": "children", "path": "/"])["children"] as? [String] == [
                "forever", "late", "n0", "zookeeper",
            ])
    }
}
