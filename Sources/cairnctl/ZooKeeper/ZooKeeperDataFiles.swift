import CSnappy
import CZlib
import CairnCore
import CairnProtocol
import Foundation
import NIOCore

/// The container and TTL nodes of a ZooKeeper, read from its own files: its client protocol shows neither (its
/// `DataNode.copyStat` reports an ephemeral owner of 0 for both), but its snapshots and transaction logs keep them.
/// The newest snapshot that reads whole gives the nodes it holds (their `ephemeralOwner` says the kind); the logs
/// from it on give those created since (`createContainer`, `createTTL`, in a multi too). A node is known by its path
/// and czxid, so one deleted and made again under the same path is a different node, and what the files say of
/// nodes gone since is never used. Formats: ZooKeeper 3.5–3.8's `FileSnap` and `FileTxnLog`.
struct ZooKeeperDataFiles {
    struct Node: Hashable {
        var path: String
        var czxid: Zxid
    }

    /// A file that does not read as ZooKeeper wrote it.
    struct Unreadable: Error, CustomStringConvertible {
        var description: String
    }

    private(set) var kinds: [Node: NodeKind] = [:]
    /// The newest zxid the files reach: their last transaction's, or the snapshot's.
    private(set) var newestZxid: Zxid = 0
    /// The files read, oldest first.
    private(set) var files: [String] = []

    /// The kind the files give the node created at `czxid` under `path`; nil: not a container or TTL node.
    func kind(of path: ZNodePath, czxid: Zxid) -> NodeKind? { kinds[Node(path: path.string, czxid: czxid)] }

    /// Reads the files in `directories` (a ZooKeeper's `dataDir` and `dataLogDir`, or their `version-2`).
    init(directories: [String]) throws {
        var snapshots: [(zxid: Zxid, path: String)] = []
        var logs: [(zxid: Zxid, path: String)] = []
        for directory in directories {
            let versioned = directory + "/version-2"
            let folder = FileManager.default.fileExists(atPath: versioned) ? versioned : directory
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else {
                throw Unreadable(description: "cannot list \(folder)")
            }
            for name in names where !name.hasSuffix(".tmp") {
                let parts = name.split(separator: ".")
                guard parts.count >= 2, let zxid = UInt64(parts[1], radix: 16) else { continue }
                if parts[0] == "snapshot" { snapshots.append((zxid, folder + "/" + name)) }
                if parts[0] == "log" && parts.count == 2 { logs.append((zxid, folder + "/" + name)) }
            }
        }
        guard !snapshots.isEmpty || !logs.isEmpty else {
            throw Unreadable(description: "no ZooKeeper snapshot or log in \(directories.joined(separator: ", "))")
        }
        // As ZooKeeper restores: the newest snapshot that reads whole.
        var snapshotZxid: Zxid = 0
        var failures: [String] = []
        for snapshot in snapshots.sorted(by: { $0.zxid > $1.zxid }) {
            do {
                try readSnapshot(snapshot.path)
                snapshotZxid = snapshot.zxid
                files.append(snapshot.path)
                break
            } catch {
                failures.append("\(error)")
            }
        }
        if !snapshots.isEmpty && files.isEmpty {
            throw Unreadable(description: "no snapshot reads whole: \(failures.joined(separator: "; "))")
        }
        newestZxid = snapshotZxid
        // The log holding the snapshot's zxid may go on past it (a log is named by its first zxid): it and every
        // later one.
        let first = logs.filter { $0.zxid <= snapshotZxid }.map(\.zxid).max() ?? 0
        for log in logs.sorted(by: { $0.zxid < $1.zxid }) where log.zxid >= first {
            try readLog(log.path)
            files.append(log.path)
        }
    }

    /// The kind an `ephemeralOwner` encodes (ZooKeeper's `EphemeralType`); nil: persistent or ephemeral.
    static func kind(ephemeralOwner owner: Int64) -> NodeKind? {
        if owner == Int64.min { return .container }
        let bits = UInt64(bitPattern: owner)
        // 0xFF in the top byte, feature 0 (TTL) in the next two, the TTL in milliseconds below.
        guard bits >> 56 == 0xFF, (bits >> 40) & 0xFFFF == 0 else { return nil }
        return .persistentWithTTL(ttlMilliseconds: Int64(bits & 0xFF_FFFF_FFFF))
    }

    /// A snapshot: header, sessions, the ACL table, then every node as path, data, ACL key and stat until the path
    /// "/", then the Adler-32 of all before it.
    private mutating func readSnapshot(_ path: String) throws {
        let bytes = try Self.contents(path)
        var r = JuteReader(ByteBuffer(bytes: bytes), maxLength: bytes.count)
        do {
            guard try r.int() == 0x5A4B_534E else { throw Unreadable(description: "\(path) is not a snapshot") }
            _ = try r.int()
            _ = try r.long()
            for _ in 0..<(try r.count()) { _ = (try r.long(), try r.int()) }
            for _ in 0..<(try r.count()) {
                _ = try r.long()
                _ = try r.vector { (r) throws(JuteReader.Malformed) in
                    (try r.int(), try r.string(), try r.string())
                }
            }
            var found: [Node: NodeKind] = [:]
            while let nodePath = try r.string(), nodePath != "/" {
                _ = try r.buffer()
                _ = try r.long()
                let czxid = try r.long()
                for _ in 0..<3 { _ = try r.long() }  // mzxid, ctime, mtime
                for _ in 0..<3 { _ = try r.int() }  // version, cversion, aversion
                let owner = try r.long()
                _ = try r.long()  // pzxid
                if let kind = Self.kind(ephemeralOwner: owner) {
                    found[Node(path: nodePath, czxid: Zxid(bitPattern: czxid))] = kind
                }
            }
            let sealed = bytes.count - r.rest().readableBytes
            var seal = JuteReader(ByteBuffer(bytes: bytes[sealed...]), maxLength: 1)
            guard UInt64(bitPattern: try seal.long()) == Self.adler32(bytes[..<sealed]) else {
                throw Unreadable(description: "\(path): checksum mismatch")
            }
            kinds.merge(found) { _, new in new }
        } catch let malformed as JuteReader.Malformed {
            throw Unreadable(description: "\(path): \(malformed)")
        }
    }

    /// A transaction log: header, then records (Adler-32, length, the transaction, 0x42) up to the zeros ZooKeeper
    /// preallocates or a record cut short by a crash. A whole record whose checksum is wrong is damage: refused.
    private mutating func readLog(_ path: String) throws {
        let bytes = try Self.contents(path)
        guard bytes.count >= 16, bytes[0..<4].elementsEqual([0x5A, 0x4B, 0x4C, 0x47]) else {
            throw Unreadable(description: "\(path) is not a ZooKeeper transaction log")
        }
        var offset = 16
        while offset + 12 <= bytes.count {
            let checksum = Self.bigEndian(bytes, at: offset, count: 8)
            let length = Int(Int32(bitPattern: UInt32(Self.bigEndian(bytes, at: offset + 8, count: 4))))
            let start = offset + 12
            guard length > 0, start + length < bytes.count, bytes[start + length] == 0x42 else { break }
            let entry = bytes[start..<start + length]
            guard Self.adler32(entry) == checksum else {
                throw Unreadable(description: "\(path): the record at offset \(offset) fails its checksum")
            }
            do {
                try readTransaction(entry)
            } catch {
                throw Unreadable(description: "\(path): the record at offset \(offset): \(error)")
            }
            offset = start + length + 1
        }
    }

    /// A logged transaction: its header (session, cxid, zxid, time, type), then its body.
    private mutating func readTransaction(_ entry: ArraySlice<UInt8>) throws(JuteReader.Malformed) {
        var r = JuteReader(ByteBuffer(bytes: entry), maxLength: entry.count)
        _ = (try r.long(), try r.int())
        let zxid = Zxid(bitPattern: try r.long())
        _ = try r.long()
        let type = try r.int()
        newestZxid = max(newestZxid, zxid)
        if type == Self.multi {
            var subs: [(type: Int32, body: [UInt8])] = []
            for _ in 0..<(try r.count()) { subs.append((try r.int(), try r.buffer() ?? [])) }
            // A multi with an error sub-op (-1) changed nothing.
            guard !subs.contains(where: { $0.type == -1 }) else { return }
            for sub in subs {
                var body = JuteReader(ByteBuffer(bytes: sub.body), maxLength: sub.body.count)
                try created(sub.type, &body, zxid: zxid)
            }
        } else {
            try created(type, &r, zxid: zxid)
        }
    }

    private static let multi: Int32 = 14

    /// Notes the node a `createContainer` (19) or `createTTL` (21) body makes; other bodies are not read.
    private mutating func created(_ type: Int32, _ r: inout JuteReader, zxid: Zxid) throws(JuteReader.Malformed) {
        guard type == 19 || type == 21, let path = try r.string() else { return }
        if type == 19 {
            kinds[Node(path: path, czxid: zxid)] = .container
            return
        }
        _ = try r.buffer()
        _ = try r.vector { (r) throws(JuteReader.Malformed) in (try r.int(), try r.string(), try r.string()) }
        _ = try r.int()  // the parent's cversion
        kinds[Node(path: path, czxid: zxid)] = .persistentWithTTL(ttlMilliseconds: try r.long())
    }

    /// A file's bytes; a compressed snapshot's (`snapshot.<zxid>.gz` or `.snappy`) uncompressed.
    private static func contents(_ path: String) throws -> [UInt8] {
        if path.hasSuffix(".gz") { return try gunzip(path) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Unreadable(description: "cannot read \(path)")
        }
        return path.hasSuffix(".snappy") ? try unsnappy(Array(data), path) : Array(data)
    }

    /// snappy-java's stream (`SnappyOutputStream`, what ZooKeeper's `SnapStream` writes): a 16-byte header (0x82
    /// "SNAPPY" 0, then its version and the oldest it reads with), then blocks of raw Snappy, each after its length
    /// (4 bytes, big-endian); concatenated streams repeat the header.
    private static func unsnappy(_ compressed: [UInt8], _ path: String) throws -> [UInt8] {
        let header: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00]
        guard compressed.starts(with: header) else {
            throw Unreadable(description: "\(path) is not a snappy-java stream")
        }
        var bytes: [UInt8] = []
        var offset = 0
        while offset < compressed.count {
            if compressed[offset...].starts(with: header) {
                offset += 16
                continue
            }
            let start = offset + 4
            guard start <= compressed.count, case let length = Int(bigEndian(compressed, at: offset, count: 4)),
                start + length <= compressed.count
            else { throw Unreadable(description: "\(path): the Snappy block at offset \(offset) is cut short") }
            let uncompressed = compressed.withUnsafeBytes { raw in
                let block = raw.baseAddress!.assumingMemoryBound(to: CChar.self) + start
                var size = 0
                guard snappy_uncompressed_length(block, length, &size) == SNAPPY_OK else { return false }
                let end = bytes.count
                bytes.append(contentsOf: repeatElement(0, count: size))
                return bytes.withUnsafeMutableBytes { out in
                    snappy_uncompress(block, length, out.baseAddress!.assumingMemoryBound(to: CChar.self) + end, &size)
                } == SNAPPY_OK
            }
            guard uncompressed else {
                throw Unreadable(description: "\(path): the Snappy block at offset \(offset) is damaged")
            }
            offset = start + length
        }
        return bytes
    }

    private static func gunzip(_ path: String) throws -> [UInt8] {
        guard let file = gzopen(path, "rb") else { throw Unreadable(description: "cannot read \(path)") }
        defer { gzclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
            guard n >= 0 else { throw Unreadable(description: "\(path) is not a whole gzip file") }
            if n == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<Int(n)])
        }
    }

    private static func adler32(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.withUnsafeBufferPointer { UInt64(CZlib.adler32(1, $0.baseAddress, UInt32($0.count))) }
    }

    private static func bigEndian(_ bytes: [UInt8], at offset: Int, count: Int) -> UInt64 {
        bytes[offset..<offset + count].reduce(0) { $0 << 8 | UInt64($1) }
    }
}
