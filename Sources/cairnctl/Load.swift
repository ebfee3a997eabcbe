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
            Live (through the server), or with --data-dir into a new data directory (bulk, no server). Ephemeral
            nodes are skipped (their sessions are gone) unless --ephemeral-as-persistent. A failed load says which
            path failed, why, and how many nodes were loaded before it.
            """)

    enum Conflict: String, ExpressibleByArgument, CaseIterable {
        case fail, skip, overwrite
    }

    @OptionGroup var options: LiveOptions
    @Option(help: "Load into this new data directory instead of a server.") var dataDir: String?
    @Option(help: "Put the dump's root here instead of where it was.") var at: String?
    @Option(help: "When a node already exists: fail, skip it, or overwrite its data.") var onConflict: Conflict = .fail
    @Flag(help: "Load ephemeral nodes as persistent ones.") var ephemeralAsPersistent = false
    @Flag(help: "Check the dump and count what would be loaded; change nothing.") var dryRun = false
    @Option(help: "Nodes per atomic batch.") var batchSize = 500
    @Argument(help: "The dump file.") var file: String

    func run() async throws {
        let reader = try DumpReader(file)
        let plan = try LoadPlan(header: reader.header, at: at, ephemeralAsPersistent: ephemeralAsPersistent)
        if let dataDir {
            var loader = try OfflineLoader(dataDir: dataDir, dryRun: dryRun)
            defer { loader.close() }
            try await load(reader, plan, into: &loader)
        } else {
            try await options.withClient { client in
                var loader = LiveLoader(client: client, conflict: onConflict, dryRun: dryRun)
                if let at { try await client.createParents(at) }
                try await load(reader, plan, into: &loader)
            }
        }
    }

    private func load(_ reader: DumpReader, _ plan: LoadPlan, into loader: inout some NodeLoader) async throws {
        let progress = Progress()
        var loaded = 0
        var skipped = 0
        var batch: [ZNode] = []
        do {
            for node in IteratorSequence(reader.nodes()) {
                guard let target = try plan.target(try node.get()) else {
                    skipped += 1
                    continue
                }
                if target.path.isRoot || target.path.isSystemNode || target.path.string == at { continue }
                batch.append(target)
                if batch.count >= batchSize {
                    let outcome = try await loader.load(batch)
                    loaded += outcome.loaded
                    skipped += outcome.skipped
                    batch.removeAll()
                    progress.show(loaded)
                }
            }
            if !batch.isEmpty {
                let outcome = try await loader.load(batch)
                loaded += outcome.loaded
                skipped += outcome.skipped
            }
        } catch let failure as LoadFailure {
            progress.done()
            fail(
                "loading \(failure.path) failed: \(failure.reason); \(loaded) nodes were loaded before it",
                code: .failed)
        }
        progress.done()
        let verb = dryRun ? "would load" : "loaded"
        if options.json {
            printJSON(["loaded": loaded, "skipped": skipped, "dry_run": dryRun])
        } else {
            print("\(verb) \(loaded) nodes, skipped \(skipped)")
        }
    }
}

/// Reads a dump file a chunk at a time: the header, then node lines, so a dump of any size loads in
/// bounded memory.
final class DumpReader {
    let header: DumpFormat.Header
    private let lines: LineReader

    init(_ path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ValidationError("cannot read \(path)") }
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
        var number = 1
        let decoder = JSONDecoder()
        return AnyIterator { [lines] in
            while let line = lines.next() {
                number += 1
                if line.isEmpty { continue }
                let lineNumber = number
                return Result { try decoder.decode(DumpFormat.Node.self, from: Data(line)) }
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

    init(_ handle: FileHandle) { self.handle = handle }

    func next() -> [UInt8]? {
        while true {
            if let newline = buffer[start...].firstIndex(of: 10) {
                defer { start = newline + 1 }
                return Array(buffer[start..<newline])
            }
            if atEnd {
                guard start < buffer.count else { return nil }
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

    func target(_ node: DumpFormat.Node) throws -> ZNode? {
        var znode = try ZNode(node)
        if znode.kind == .ephemeral {
            guard ephemeralAsPersistent else { return nil }
            znode.kind = .persistent
        }
        if let at {
            let rest = node.path == root ? "" : String(node.path.dropFirst(root == "/" ? 0 : root.count))
            znode.path = try ZNodePath(at == "/" ? (rest.isEmpty ? "/" : rest) : at + rest)
        }
        return znode
    }
}

struct LoadFailure: Error {
    var path: String
    var reason: String
}

protocol NodeLoader {
    /// Creates the batch atomically; throws `LoadFailure` naming the node that failed.
    mutating func load(_ batch: [ZNode]) async throws -> (loaded: Int, skipped: Int)
}

/// Shows "loaded N nodes" on a terminal.
struct Progress {
    let terminal = isatty(2) != 0

    func show(_ count: Int) {
        if terminal { FileHandle.standardError.write(Data("\rloaded \(count) nodes".utf8)) }
    }

    func done() {
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
