import CairnTesting
import Foundation
import Testing

/// Damage in the last WAL segment, made with the real binaries: a damaged length field is not taken for a torn
/// tail (the start refuses, naming file and offset, and cuts nothing); a real torn tail is cut and kept; `wal
/// repair` says what it removed.
@Suite("A damaged last segment: refused, never cut silently; repair reports what it removed")
struct DamagedLogTests {
    let directory = TemporaryDirectory("cairn-damaged")
    var data: String { directory.appending("data") }

    /// The offsets and zxids of the records of a segment (header 16 bytes; each record: length u32, crc u32,
    /// zxid u64, payload), up to the first zero length.
    static func records(_ bytes: [UInt8]) -> [(offset: Int, zxid: UInt64)] {
        var records: [(offset: Int, zxid: UInt64)] = []
        var offset = 16
        while offset + 16 <= bytes.count {
            let length = bytes[offset..<offset + 4].reversed().reduce(0) { $0 << 8 | Int($1) }
            guard length > 0 else { break }
            records.append((offset, bytes[offset + 8..<offset + 16].reversed().reduce(0) { $0 << 8 | UInt64($1) }))
            offset += 16 + length
        }
        return records
    }

    /// A data directory whose last (only) segment holds the connect and `count` creates; the server killed.
    func makeLog(count: Int) throws -> (server: ServerProcess, segment: String) {
        let server = try ServerProcess(dataDirectory: data)
        let c = try server.client()
        try c.connect()
        for k in 0..<count {
            try c.call(["op": "create", "path": "/n\(k)", "data": String(repeating: "d", count: 100)])
        }
        server.kill()
        let wal = data + "/wal"
        let segment = try #require(
            try FileManager.default.contentsOfDirectory(atPath: wal).filter { $0.hasSuffix(".wal") }.max())
        return (server, wal + "/" + segment)
    }

    func ctl(_ arguments: String...) throws -> CommandResult {
        try ChildProcess.run("cairnctl", arguments + ["--data-dir", data])
    }

    @Test(
        "a flipped length byte mid-segment: the start refuses and cuts nothing, store or not; repair counts the changes it removes",
        arguments: [false, true])
    func flippedLength(keepStore: Bool) throws {
        let (server, segment) = try makeLog(count: 300)
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: segment)))
        let records = Self.records(bytes)
        try #require(records.count == 301)
        let victim = records.count / 2
        bytes[records[victim].offset + 3] ^= 0x01  // the length's high byte: the frame now seems to run past the file
        try Data(bytes).write(to: URL(fileURLWithPath: segment))
        if !keepStore { try FileManager.default.removeItem(atPath: data + "/store") }

        do {
            _ = try server.restarted()
            Issue.record("the server started on a damaged log")
        } catch ServerProcess.ServerError.didNotStart(let output) {
            #expect(output.contains("\(segment) is damaged at byte offset \(records[victim].offset)"), "\(output)")
            #expect(output.contains("not a torn tail"), "\(output)")
        }
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: segment))) == bytes, "nothing was cut")
        #expect(try ctl("wal", "verify").status == 3)

        let repaired = try ctl("wal", "repair", "--json")
        #expect(repaired.status == 0, "\(repaired.errorOutput)")
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(repaired.output.joined().utf8)) as? [String: Any])
        #expect(report["removed_changes"] as? Int == records.count - victim - 1)
        #expect(report["removed_zxids"] as? [UInt64] == [records[victim + 1].zxid, records.last!.zxid])
        #expect(report["last_zxid"] as? UInt64 == records[victim - 1].zxid)
        let sideFiles = try #require(report["side_files"] as? [String])
        #expect(!sideFiles.isEmpty && sideFiles.allSatisfy { FileManager.default.fileExists(atPath: $0) })
        #expect(report["log_archived"] as? Bool == keepStore, "a store ahead of the cut log stands on its own")

        let restarted = try server.restarted()
        let c = try restarted.client()
        try c.connect()
        let children = try #require(c.call(["op": "children", "path": "/"])["children"] as? [String])
        // The store kept everything and stands on its own; without it, the changes before the damage remain.
        #expect(children.filter { $0 != "zookeeper" }.count == (keepStore ? 300 : victim - 1))
    }

    @Test("a torn tail is cut at the start and its bytes kept in a side file")
    func tornTailKept() throws {
        let (server, segment) = try makeLog(count: 20)
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: segment)))
        let last = try #require(Self.records(bytes).last)
        let torn = Array(bytes[..<(last.offset + 10)])
        try Data(torn).write(to: URL(fileURLWithPath: segment))
        // A real tear is never below what the store applied (LMDB commits after the WAL fsync): replay without it.
        try FileManager.default.removeItem(atPath: data + "/store")

        let restarted = try server.restarted()
        #expect(restarted.log.contains { $0.contains("cut a torn tail") && $0.contains("wal.offset=\(last.offset)") })
        let sides = try FileManager.default.contentsOfDirectory(atPath: data + "/wal").filter { $0.contains(".torn-") }
        try #require(sides.count == 1)
        var cut = Array(torn[last.offset...])
        while cut.last == 0 { cut.removeLast() }  // zeros at the end are not kept
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: data + "/wal/" + sides[0]))) == cut)
        let c = try restarted.client()
        try c.connect()
        let children = try #require(c.call(["op": "children", "path": "/"])["children"] as? [String])
        #expect(children.filter { $0 != "zookeeper" }.count == 19)
    }

    @Test("a kill right at a segment roll (a new segment without its header) is a torn tail of 0 bytes, never negative")
    func emptyNewSegment() throws {
        let (server, segment) = try makeLog(count: 3)
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: segment)))
        let last = try #require(Self.records(bytes).last)
        // A roll ends the old segment at its last record, then creates the next one: the kill came in between.
        let end = last.offset + 16 + bytes[last.offset..<last.offset + 4].reversed().reduce(0) { $0 << 8 | Int($1) }
        try Data(bytes[..<end]).write(to: URL(fileURLWithPath: segment))
        let next = String(format: "%020llu.wal", last.zxid + 1)
        try Data().write(to: URL(fileURLWithPath: data + "/wal/" + next))
        let verify = try ctl("wal", "verify", "--json")
        #expect(verify.status == 0)
        #expect(verify.output.joined().contains(#""torn_tail_bytes":0"#), "\(verify.output)")
        let restarted = try server.restarted()
        let c = try restarted.client()
        try c.connect()
        #expect(try c.call(["op": "create", "path": "/after"]).ok)
    }

    @Test(
        "repair on a full disk: it refuses up front, saying how much it needs and changing nothing; with room it works")
    func repairOnFullDisk() throws {
        let disk = try SmallFilesystem(at: data, megabytes: 8)
        let (server, segment) = try makeLog(count: 300)
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: segment)))
        let records = Self.records(bytes)
        bytes[records[records.count / 2].offset + 3] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: segment))
        // Fill what is left of the disk.
        try Data().write(to: URL(fileURLWithPath: data + "/filler"))
        let filler = try #require(FileHandle(forWritingAtPath: data + "/filler"))
        while (try? filler.write(contentsOf: Data(count: 64 << 10))) != nil {}
        try? filler.close()
        let before = try FileManager.default.contentsOfDirectory(atPath: data + "/wal").sorted()

        let refused = try ctl("wal", "repair")
        #expect(
            refused.status == 1 && refused.errorOutput.contains("needs")
                && refused.errorOutput.contains("nothing was changed"),
            "\(refused.status): \(refused.errorOutput)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: data + "/wal").sorted() == before)
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: segment))) == bytes)

        try disk.resize(megabytes: 16)
        #expect(try ctl("wal", "repair").status == 0)
        _ = try server.restarted()
    }
}
