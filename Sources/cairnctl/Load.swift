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
            try await ZooKeeperConnection.run(zookeeper, digest: options.auth) { zk in
                var loader = ZooKeeperLoader(zk: zk, dryRun: dryRun, batchSize: batchSize)
                try await load(reader, plan, into: &loader)
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
        let at = at  // read once: an option's getter costs more than a node
        do {
            // The decoding thread plans each node too: the loader's own work is all that is left here.
            for try await batch in reader.batches({ try plan.target($0) }) {
                for target in batch.nodes {
                    switch target {
                    case .load(let node):
                        let path = node.node.path
                        try await loader.add(node, create: !(path.isRoot || path.string == at))
                    case .skip: skipped += 1
                    case .leave: break
                    }
                }
                progress.update(nodes: batch.lines, bytes: batch.bytes)
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
/// bounded memory. Its lines are read by one thread at a time: the caller's, then from `batches()` on, the thread
/// that decodes them.
final class DumpReader: @unchecked Sendable {
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

    /// A run of decoded node lines, and how far into the file they reach.
    struct Batch<Node: Sendable>: Sendable {
        var nodes: [Node] = []
        /// Lines read through the batch's last, the header's included.
        var lines = 0
        var bytes = 0
    }

    /// The node lines in file order, decoded 1,024 at a time (and each made `transform`'s) on a thread of their own
    /// while the caller loads the batches before (at most four wait); a line that is not a node ends them with an
    /// error naming its number, an error of `transform` as it is.
    func batches<Node: Sendable>(_ transform: @escaping @Sendable (DumpFormat.Node) throws -> Node)
        -> PrefetchedBatches<Node>
    {
        let (stream, continuation) = AsyncThrowingStream<Batch<Node>, any Error>.makeStream()
        let room = DispatchSemaphore(value: 4)
        Thread { [self] in
            let decoder = JSONDecoder()
            var batch = Batch<Node>()
            do {
                while let node = try lines.next({ line -> DumpFormat.Node? in
                    lineCount += 1
                    guard !line.isEmpty else { return nil }
                    do {
                        return try DumpFormat.Node.decode(line, decoder: decoder)
                    } catch {
                        throw ValidationError("line \(lineCount) of the dump is not a node")
                    }
                }) {
                    guard let node else { continue }
                    batch.nodes.append(try transform(node))
                    if batch.nodes.count == 1024 {
                        room.wait()
                        continuation.yield(Batch(nodes: batch.nodes, lines: lineCount, bytes: bytesRead))
                        batch.nodes.removeAll(keepingCapacity: true)
                    }
                }
                if !batch.nodes.isEmpty {
                    continuation.yield(Batch(nodes: batch.nodes, lines: lineCount, bytes: bytesRead))
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }.start()
        return PrefetchedBatches(stream: stream, room: room)
    }
}

/// `DumpReader.batches(_:)`: taking a batch makes room for the decoding thread to hand over the next.
struct PrefetchedBatches<Node: Sendable>: AsyncSequence {
    typealias Element = DumpReader.Batch<Node>
    let stream: AsyncThrowingStream<Element, any Error>
    let room: DispatchSemaphore

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<Element, any Error>.AsyncIterator
        let room: DispatchSemaphore

        mutating func next() async throws -> Element? {
            let batch = try await base.next()
            if batch != nil { room.signal() }
            return batch
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: stream.makeAsyncIterator(), room: room) }
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

    func next() -> [UInt8]? { next { Array($0) } }

    /// The next line (without its newline) lent to `body`, not copied; nil at the end of the file.
    func next<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T? {
        while true {
            let newline = buffer.withUnsafeBytes { bytes -> Int? in
                guard start < bytes.count, let found = memchr(bytes.baseAddress! + start, 10, bytes.count - start)
                else { return nil }
                return UnsafeRawPointer(found) - bytes.baseAddress!
            }
            if newline != nil || (atEnd && start < buffer.count) {
                let end = newline ?? buffer.count
                let line = try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
                bytesRead += min(end + 1, buffer.count) - start
                start = min(end + 1, buffer.count)
                return line
            }
            if atEnd { return nil }
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

    /// What becomes of a dump's node.
    enum Target: Sendable {
        case load(LoadNode)
        /// Not loaded, and counted as skipped: an ephemeral node (its session is gone).
        case skip
        /// Not loaded, not counted: one of the dump's system nodes (every tree has its own).
        case leave
    }

    func target(_ node: DumpFormat.Node) throws -> Target {
        var znode = try ZNode(node)
        if znode.path.isSystemNode { return .leave }
        if znode.kind == .ephemeral {
            guard ephemeralAsPersistent else { return .skip }
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
        return .load(LoadNode(node: znode, counters: counters))
    }
}

/// A dump's node where the load puts it, with the counters a restore gives it (nil: the dump has none).
struct LoadNode: Sendable {
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
