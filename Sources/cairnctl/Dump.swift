import ArgumentParser
import Cairn
import CairnCore
import CairnProtocol
import CairnStore
import Foundation
import Logging
import Synchronization

struct Dump: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a consistent dump of a tree (docs/dump-format.md).",
        usage: "cairnctl dump [<options>] [<path>]",
        discussion: """
            Live, the server reads the whole tree in one read transaction and streams it: memory stays bounded \
            however large the tree. With --data-dir, the data directory is read directly (no server may use it). \
            With --zookeeper, a running ZooKeeper (3.6 or later) is read through its client protocol and kept \
            consistent by a recursive watch: nodes that change while it is read are read again, and the dump \
            states the zxid it is consistent at. Ephemeral nodes from ZooKeeper are counted and left out unless \
            --include-ephemerals. ZooKeeper's protocol shows container and TTL nodes as persistent ones: \
            --zookeeper-data reads their kinds from its snapshot and transaction logs, which must reach the \
            dump's zxid (run it where ZooKeeper runs).
            """)
    @OptionGroup var options: LiveOptions
    @Option(help: "Read this data directory instead of asking a server.") var dataDir: String?
    @Option(help: "Read a running ZooKeeper at HOST:PORT instead (--auth: its digest credentials).")
    var zookeeper: String?
    @Flag(help: "With --zookeeper: keep ephemeral nodes in the dump.") var includeEphemerals = false
    @Option(
        help: ArgumentHelp(
            "With --zookeeper: its dataDir (and dataLogDir, if apart), read for its container and TTL nodes.",
            valueName: "directory"))
    var zookeeperData: [String] = []
    @Option(name: .short, help: "Write to FILE instead of stdout.") var output: String?
    @Argument(help: "The subtree to dump.") var path = "/"

    func validate() throws {
        if !zookeeperData.isEmpty && zookeeper == nil { throw ValidationError("--zookeeper-data needs --zookeeper") }
    }

    func run() async throws {
        let root = try ZNodePath(path)
        let sink = try DumpSink(output)
        if let dataDir {
            try dumpOffline(dataDir, root: root, into: sink)
        } else if let zookeeper {
            try await dumpZooKeeper(zookeeper, root: root, into: sink)
        } else {
            try await dumpLive(root: root, into: sink)
        }
    }

    private func dumpLive(root: ZNodePath, into sink: DumpSink) async throws {
        let counted = Mutex(0)
        let (zxid, reply, progress) = try await options.withClient { client in
            let total = try? await client.descendantCount(root.string)
            let progress = Progress("dumped", total: total.map { .nodes($0 + 1) }, json: options.json)
            let (zxid, reply) = try await client.streaming(.dump(root)) { event in
                switch event {
                // The server wrote the node with `DumpFormat.line` too: its bytes are copied as they are.
                case .dumpNode(let line):
                    sink.write(line + [UInt8(ascii: "\n")])
                    let nodes = counted.withLock { n in
                        n += 1
                        return n
                    }
                    if nodes % 1024 == 0 { progress.update(nodes: nodes, bytes: sink.written) }
                case .dumpStart(let zxid, _):
                    sink.write(
                        DumpFormat.header(zxid: zxid, created: Int64(SystemClock.wallMilliseconds()), root: root))
                default: break
                }
            }
            return (zxid, reply, progress)
        }
        sink.close()
        progress.done()
        guard case .dumped(let nodes) = reply else {
            fail("the server's reply to dump is not a dump's", code: .failed)
        }
        report(nodes: nodes, zxid: zxid, progress: progress)
    }

    private func dumpOffline(_ dataDir: String, root: ZNodePath, into sink: DumpSink) throws {
        let store = try openOffline(dataDir)
        defer { store.close() }
        let progress = Progress("dumped", json: options.json)
        let (zxid, nodes) = try store.read { view in
            let zxid = try view.zxid
            sink.write(DumpFormat.header(zxid: zxid, created: Int64(SystemClock.wallMilliseconds()), root: root))
            var nodes = 0
            try view.visit(from: root) { node in
                sink.write(DumpFormat.line(node))
                nodes += 1
                if nodes % 1024 == 0 { progress.update(nodes: nodes, bytes: sink.written) }
            }
            return (zxid, nodes)
        }
        sink.close()
        progress.done()
        report(nodes: nodes, zxid: zxid, progress: progress)
    }

    private func dumpZooKeeper(_ server: String, root: ZNodePath, into sink: DumpSink) async throws {
        let progress = Progress("read", json: options.json)
        var reader = ZooKeeperTreeReader(root: root)
        let zxid = try await ZooKeeperConnection.run(server, digest: options.auth) { zk in
            try await reader.read(zk) { progress.update(nodes: $0, bytes: 0) }
        }
        progress.done()
        // Read after the tree: ZooKeeper logs a change before it answers, so the files hold all the tree shows.
        let files = try zookeeperFiles(reaching: zxid)
        sink.write(DumpFormat.header(zxid: zxid, created: Int64(SystemClock.wallMilliseconds()), root: root))
        var nodes = 0
        var ephemerals = 0
        var kindsFromFiles = 0
        reader.visit { read in
            var node = read
            if node.kind == .persistent, let kind = files?.kind(of: node.path, czxid: node.stat.czxid) {
                node.kind = kind
                kindsFromFiles += 1
            }
            if node.kind == .ephemeral && !includeEphemerals {
                ephemerals += 1
                return
            }
            sink.write(DumpFormat.line(node))
            nodes += 1
        }
        sink.close()
        if ephemerals > 0 && !options.json {
            FileHandle.standardError.write(
                Data("cairnctl: left out \(ephemerals) ephemeral nodes (--include-ephemerals keeps them)\n".utf8))
        }
        report(
            nodes: nodes, zxid: zxid, progress: progress,
            extra: ["ephemerals_left_out": ephemerals, "reads": reader.reads, "kinds_from_files": kindsFromFiles])
    }

    /// What `--zookeeper-data` says of container and TTL nodes; nil without it. Files that end before `zxid` are
    /// not the server's, or not all of them: refused.
    private func zookeeperFiles(reaching zxid: Zxid) throws -> ZooKeeperDataFiles? {
        guard !zookeeperData.isEmpty else { return nil }
        let files: ZooKeeperDataFiles
        do {
            files = try ZooKeeperDataFiles(directories: zookeeperData)
        } catch {
            fail("--zookeeper-data: \(error)", code: .failed)
        }
        guard files.newestZxid >= zxid else {
            fail(
                "--zookeeper-data: the files reach zxid \(files.newestZxid), not the dump's \(zxid): give this "
                    + "ZooKeeper's dataDir and dataLogDir (\(files.files.joined(separator: ", ")))",
                code: .failed)
        }
        return files
    }

    /// The summary: on stderr when the dump went to stdout (it must stay a clean dump), else on stdout.
    private func report(nodes: Int, zxid: UInt64, progress: Progress, extra: [String: Int] = [:]) {
        if options.json {
            guard output != nil else { return }
            printJSON(extra.merging(["nodes": nodes, "zxid": Int(zxid)]) { a, _ in a })
        } else {
            let line = "dumped \(nodes) nodes at zxid \(zxid) \(progress.summary(nodes: nodes))"
            if output != nil { print(line) } else { FileHandle.standardError.write(Data((line + "\n").utf8)) }
        }
    }
}

/// Where dump lines go: a file (through a temporary name, renamed when complete) or stdout, written
/// 256 KiB at a time rather than a syscall per line.
final class DumpSink: Sendable {
    private let handle: FileHandle
    private let path: String?
    private let pending = Mutex<(bytes: [UInt8], written: Int)>(([], 0))

    init(_ path: String?) throws {
        self.path = path
        if let path {
            _ = FileManager.default.createFile(atPath: path + ".partial", contents: nil, attributes: ownerOnly)
            guard let handle = FileHandle(forWritingAtPath: path + ".partial") else {
                throw ValidationError("cannot write \(path)")
            }
            self.handle = handle
        } else {
            handle = FileHandle.standardOutput
        }
    }

    func write(_ line: [UInt8]) {
        let full: [UInt8]? = pending.withLock { pending in
            pending.bytes.append(contentsOf: line)
            pending.written += line.count
            guard pending.bytes.count >= 256 << 10 else { return nil }
            defer { pending.bytes = [] }
            return pending.bytes
        }
        if let full { handle.write(Data(full)) }
    }

    /// Bytes written so far, buffered ones included.
    var written: Int { pending.withLock { $0.written } }

    /// Writes what is buffered; for a file, also syncs it and gives it its name.
    func close() {
        let rest = pending.withLock { pending in
            defer { pending.bytes = [] }
            return pending.bytes
        }
        if !rest.isEmpty { handle.write(Data(rest)) }
        guard let path else { return }
        try? handle.synchronize()
        try? handle.close()
        _ = rename(path + ".partial", path)
    }
}

extension ZNode {
    /// A node as the dump format carries it.
    init(_ node: DumpFormat.Node) throws {
        let kind: NodeKind =
            switch node.kind {
            case "ephemeral": .ephemeral
            case "container": .container
            case "ttl": .persistentWithTTL(ttlMilliseconds: node.ttlMs ?? 0)
            default: .persistent
            }
        let data = node.bytes
        let owner = node.owner.flatMap(SessionID.init(hex:))
        let stat = node.stat ?? Stat.created(zxid: 0, time: 0, owner: owner, dataLength: data?.count ?? 0)
        self.init(path: try ZNodePath(node.path), data: data, stat: stat, kind: kind, acl: node.acl)
    }
}

/// Opens a data directory for an offline command; a server holding it makes this fail with a clear message.
func openOffline(_ dataDir: String) throws -> Store {
    var configuration = Store.Configuration(dataDirectory: dataDir)
    configuration.snapshotEveryChanges = 0
    configuration.snapshotEveryMilliseconds = 0
    do {
        return try Store.open(configuration, logger: silentLogger)
    } catch let error as StoreError {
        if case .corruptWAL = error { fail("\(error)", code: .damaged) }
        if case .walGap = error { fail("\(error)", code: .damaged) }
        fail("\(error)", code: .failed)
    }
}
