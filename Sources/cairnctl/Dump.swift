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
        abstract: "Write a consistent point-in-time dump of a tree (docs/dump-format.md).",
        discussion: """
            Live, the server reads the whole tree in one read transaction and streams it: memory stays bounded
            however large the tree. With --data-dir, the data directory is read directly (no server may use it).
            """)
    @OptionGroup var options: LiveOptions
    @Option(help: "Read this data directory instead of asking a server.") var dataDir: String?
    @Option(name: .short, help: "Write to FILE instead of stdout.") var output: String?
    @Flag(help: "Include each node's stat.") var stat = false
    @Argument(help: "The subtree to dump.") var path = "/"

    func run() async throws {
        let root = try ZNodePath(path)
        let sink = try DumpSink(output)
        if let dataDir {
            try dumpOffline(dataDir, root: root, into: sink)
        } else {
            let (zxid, reply) = try await options.withClient { client in
                try await client.streaming(.dump(root, stat: stat)) { event in
                    switch event {
                    // The server wrote the node with `DumpFormat.line` too: its bytes are copied as they are.
                    case .dumpNode(let line): sink.write(line + [UInt8(ascii: "\n")])
                    case .dumpStart(let zxid, _):
                        sink.write(
                            DumpFormat.header(zxid: zxid, created: Int64(SystemClock.wallMilliseconds()), root: root))
                    default: break
                    }
                }
            }
            sink.close()
            guard case .dumped(let nodes) = reply else {
                fail("the server's reply to dump is not a dump's", code: .failed)
            }
            if output != nil { report(nodes: nodes, zxid: zxid) }
        }
    }

    private func dumpOffline(_ dataDir: String, root: ZNodePath, into sink: DumpSink) throws {
        let store = try openOffline(dataDir)
        defer { store.close() }
        let (zxid, nodes) = try store.read { view in
            let zxid = try view.zxid
            sink.write(DumpFormat.header(zxid: zxid, created: Int64(SystemClock.wallMilliseconds()), root: root))
            var nodes = 0
            try view.visit(from: root) { node in
                sink.write(DumpFormat.line(node, stat: stat))
                nodes += 1
            }
            return (zxid, nodes)
        }
        sink.close()
        if output != nil { report(nodes: nodes, zxid: zxid) }
    }

    private func report(nodes: Int, zxid: UInt64) {
        if options.json {
            printJSON(["nodes": nodes, "zxid": zxid])
        } else {
            print("dumped \(nodes) nodes at zxid \(zxid)")
        }
    }
}

/// Where dump lines go: a file (through a temporary name, renamed when complete) or stdout, written
/// 256 KiB at a time rather than a syscall per line.
final class DumpSink: Sendable {
    private let handle: FileHandle
    private let path: String?
    private let pending = Mutex<[UInt8]>([])

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
            pending.append(contentsOf: line)
            guard pending.count >= 256 << 10 else { return nil }
            defer { pending = [] }
            return pending
        }
        if let full { handle.write(Data(full)) }
    }

    /// Writes what is buffered; for a file, also syncs it and gives it its name.
    func close() {
        let rest = pending.withLock { pending in
            defer { pending = [] }
            return pending
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
