import ArgumentParser
import Cairn
import CairnCore
import CairnProtocol
import CairnStore
import Foundation

struct Load: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recreate a dump's nodes, parents first, in atomic batches.",
        discussion: """
            Live (through the server), with --data-dir into a new data directory (bulk, no server: every stat \
            restored exactly), or with --zookeeper into a running ZooKeeper. A live load restores each node's \
            sequence counter, version and ACL version; zxids and times are the server's own. Ephemeral nodes are \
            skipped (their sessions are gone) unless --ephemeral-as-persistent. A failed load says which path \
            failed, why, and how many nodes were loaded before it. See docs/dump-format.md.
            """)

    enum Conflict: String, ExpressibleByArgument, CaseIterable {
        case fail, skip, overwrite
    }

    @OptionGroup var options: LiveOptions
    @Option(help: "Load into this new data directory instead of a server.") var dataDir: String?
    @Option(help: "Load into a running ZooKeeper at HOST:PORT instead (--auth: its digest credentials).")
    var zookeeper: String?
    @Option(help: "Put the dump's root here instead of where it was.") var at: String?
    @Option(help: "When a node already exists: fail, skip it, or overwrite its data.") var onConflict: Conflict = .fail
    @Flag(help: "Load ephemeral nodes as persistent ones.") var ephemeralAsPersistent = false
    @Flag(help: "Check the dump and count what would be loaded; change nothing.") var dryRun = false
    @Option(help: "Nodes per atomic batch.") var batchSize = 1000
    @Argument(help: "The dump file.") var file: String

    func validate() throws {
        if dataDir != nil && zookeeper != nil { throw ValidationError("--data-dir and --zookeeper exclude each other") }
        if zookeeper != nil && onConflict != .fail {
            throw ValidationError("--zookeeper loads with --on-conflict fail")
        }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
    }

    func run() async throws {
        let reader = try DumpReader(file)
        let plan = try LoadPlan(header: reader.header, at: at, ephemeralAsPersistent: ephemeralAsPersistent)
        if let dataDir {
            if reader.header.version >= 2 && !dryRun {
                var loader = ImportLoader(dataDir: dataDir, header: reader.header)
                try await load(reader, plan, into: &loader)
            } else {
                var loader = try OfflineLoader(dataDir: dataDir, dryRun: dryRun, batchSize: batchSize)
                defer { loader.close() }
                try await load(reader, plan, into: &loader)
            }
        } else if let zookeeper {
            guard let address = HostPort(zookeeper) else {
                throw ValidationError("--zookeeper must be HOST:PORT or [IPv6]:PORT, e.g. 127.0.0.1:2181")
            }
            do {
                try await ZooKeeperConnection.with(address, digest: options.auth) { zk in
                    var loader = ZooKeeperLoader(zk: zk, dryRun: dryRun, batchSize: batchSize)
                    try await load(reader, plan, into: &loader)
                }
            } catch let error as ZooKeeperConnection.Unreachable {
                fail("\(error)", code: .unreachable)
            } catch let error as ZooKeeperConnection.Failure {
                fail("\(error)", code: .failed)
            }
        } else {
            try await options.withClient { client in
                var loader = LiveLoader(client: client, conflict: onConflict, dryRun: dryRun, batchSize: batchSize)
                if let at { try await client.createParents(at) }
                try await load(reader, plan, into: &loader)
            }
        }
    }

    private func load(_ reader: DumpReader, _ plan: LoadPlan, into loader: inout some NodeLoader) async throws {
        let progress = Progress("loaded", total: .bytes(reader.size), json: options.json)
        var skipped = 0
        var outcome = (loaded: 0, skipped: 0)
        do {
            for line in IteratorSequence(reader.nodes()) {
                let node = try line.get()
                // Every tree has its own system nodes: a dump's are not loaded.
                if (try? ZNodePath(node.path))?.isSystemNode == true { continue }
                guard let target = try plan.target(node) else {
                    skipped += 1
                    continue
                }
                let path = target.node.path
                try await loader.add(target, create: !(path.isRoot || path.string == at))
                if reader.lineCount % 1024 == 0 { progress.update(nodes: reader.lineCount, bytes: reader.bytesRead) }
            }
            outcome = try await loader.finish()
        } catch let failure as LoadFailure {
            progress.done()
            fail(
                "loading \(failure.path) failed: \(failure.reason); \(failure.loaded) nodes were loaded before it",
                code: .failed)
        }
        progress.done()
        let loaded = outcome.loaded
        skipped += outcome.skipped
        if options.json {
            printJSON(["loaded": loaded, "skipped": skipped, "dry_run": dryRun])
        } else {
            print(
                "\(dryRun ? "would load" : "loaded") \(loaded) nodes, skipped \(skipped) \(progress.summary(nodes: loaded))"
            )
        }
    }
}

/// Reads a dump file a chunk at a time: the header, then node lines, so a dump of any size loads in
/// bounded memory.
final class DumpReader {
    let header: DumpFormat.Header
    /// The file's size in bytes.
    let size: Int
    private let lines: LineReader
    /// Lines read so far, the header's included.
    private(set) var lineCount = 1
    var bytesRead: Int { lines.bytesRead }

    init(_ path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ValidationError("cannot read \(path)") }
        size = Int((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)??.intValue ?? 0)
        lines = LineReader(handle)
        guard let first = lines.next(),
            let header = try? JSONDecoder().decode(DumpFormat.Header.self, from: Data(first)),
            header.format == DumpFormat.name
        else {
            fail("\(path) is not a Cairn dump (its first line is not a cairn-dump header)", code: .failed)
        }
        guard header.version <= DumpFormat.version else {
            fail(
                "\(path) is dump format version \(header.version); this cairnctl reads up to \(DumpFormat.version)",
                code: .failed)
        }
        self.header = header
    }

    /// The node lines in file order, each decoded or the error naming its line number.
    func nodes() -> AnyIterator<Result<DumpFormat.Node, any Error>> {
        let decoder = JSONDecoder()
        return AnyIterator { [self] in
            while let line = lines.next() {
                lineCount += 1
                if line.isEmpty { continue }
                let lineNumber = lineCount
                return Result { try DumpFormat.Node.decode(line, decoder: decoder) }
                    .mapError { _ in ValidationError("line \(lineNumber) of the dump is not a node") }
            }
            return nil
        }
    }
}

/// Lines of a file, read in 1 MiB chunks.
final class LineReader {
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false
    /// Bytes handed out as lines so far, newlines included.
    private(set) var bytesRead = 0

    init(_ handle: FileHandle) { self.handle = handle }

    func next() -> [UInt8]? {
        while true {
            if let newline = buffer[start...].firstIndex(of: 10) {
                bytesRead += newline + 1 - start
                defer { start = newline + 1 }
                return Array(buffer[start..<newline])
            }
            if atEnd {
                guard start < buffer.count else { return nil }
                bytesRead += buffer.count - start
                defer { start = buffer.count }
                return Array(buffer[start...])
            }
            buffer.removeSubrange(0..<start)
            start = 0
            let chunk = handle.readData(ofLength: 1 << 20)
            if chunk.isEmpty { atEnd = true } else { buffer.append(contentsOf: chunk) }
        }
    }
}

/// Maps dump paths to where they go, and drops what is not loaded.
struct LoadPlan {
    let root: String
    let at: String?
    let ephemeralAsPersistent: Bool

    init(header: DumpFormat.Header, at: String?, ephemeralAsPersistent: Bool) throws {
        root = header.root
        if let at { _ = try ZNodePath(at) }
        self.at = at
        self.ephemeralAsPersistent = ephemeralAsPersistent
    }

    func target(_ node: DumpFormat.Node) throws -> LoadNode? {
        var znode = try ZNode(node)
        if znode.kind == .ephemeral {
            guard ephemeralAsPersistent else { return nil }
            znode.kind = .persistent
        }
        if let at {
            let rest = node.path == root ? "" : String(node.path.dropFirst(root == "/" ? 0 : root.count))
            znode.path = try ZNodePath(at == "/" ? (rest.isEmpty ? "/" : rest) : at + rest)
        }
        // A version-1 dump without stats carries no counters: they restart.
        let counters = node.stat.map { stat in
            var counters = NodeCounters(stat)
            if let seq = node.seq { counters.sequence = seq }
            return counters
        }
        return LoadNode(node: znode, counters: counters)
    }
}

/// A dump's node where the load puts it, with the counters a restore gives it (nil: the dump has none).
struct LoadNode {
    var node: ZNode
    var counters: NodeCounters?
}

struct LoadFailure: Error {
    var path: String
    var reason: String
    /// Nodes loaded before it.
    var loaded: Int
}

/// Where a load's nodes go. They come parents first, children in name order (the dump's order).
protocol NodeLoader {
    /// Takes the next node: one to create (`create`), or the node the dump's root goes to, which exists (the root,
    /// `--at`) and gets only the dump root's counters. Throws `LoadFailure` naming the node that failed.
    mutating func add(_ node: LoadNode, create: Bool) async throws
    /// Loads what is still pending; returns how many nodes were loaded and how many skipped.
    mutating func finish() async throws -> (loaded: Int, skipped: Int)
}
