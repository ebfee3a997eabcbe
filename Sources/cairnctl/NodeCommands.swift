import ArgumentParser
import Cairn
import CairnCore
import Foundation

struct Ls: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List a node's children (-R: the whole subtree).", usage: "cairnctl ls [<options>] [<path>]")
    @OptionGroup var options: LiveOptions
    @OptionGroup var listing: ListingOptions
    @Flag(name: .customShort("R"), help: "Recursive: every node below PATH, depth first.") var recursive = false
    @Flag(help: "Show each node's version, data length and children count.") var stat = false
    @Argument(help: "The node.") var path = "/"

    func run() async throws {
        var rows: [[String]] = []
        try await options.withClient { client in
            try await list(client, path, into: &rows)
        }
        if listing.format(options) == .table {
            printTable(["NODE", "VERSION", "BYTES", "CHILDREN", "EPHEMERAL OWNER"], rows, numeric: [1, 2, 3])
        }
    }

    /// Prints each child as it comes, or for a table adds its row to `rows`.
    private func list(_ client: CairnClient, _ path: String, into rows: inout [[String]]) async throws {
        let format = listing.format(options)
        for name in try await client.children(path) {
            let child = path == "/" ? "/" + name : path + "/" + name
            let shown = recursive ? child : name
            if stat || format != .text {
                let s = try await client.exists(child)
                switch format {
                case .json:
                    printJSON([
                        "path": child, "version": s?.version ?? 0, "data_length": s?.dataLength ?? 0,
                        "num_children": s?.numChildren ?? 0,
                    ])
                case .table:
                    rows.append([
                        shown, "\(s?.version ?? 0)", "\(s?.dataLength ?? 0)", "\(s?.numChildren ?? 0)",
                        s?.ephemeralOwner?.hex ?? "",
                    ])
                case .text:
                    print("\(shown)  v\(s?.version ?? 0) \(s?.dataLength ?? 0)B \(s?.numChildren ?? 0) children")
                }
            } else {
                print(shown)
            }
            if recursive { try await list(client, child, into: &rows) }
        }
    }
}

struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a node's data.", usage: "cairnctl get [<options>] <path>",
        discussion:
            "Writes the bytes exactly, so `cairnctl get /x > file` copies them; a newline is added only on a terminal.")
    @OptionGroup var options: LiveOptions
    @Argument var path: String

    func run() async throws {
        let node = try await options.withClient { try await $0.get(path) }
        if options.json {
            var object: [String: Any] = ["path": path, "stat": statObject(node.stat)]
            if let text = String(validating: node.data, as: UTF8.self) {
                object["data"] = text
            } else {
                object["data_b64"] = Data(node.data).base64EncodedString()
            }
            printJSON(object)
        } else {
            FileHandle.standardOutput.write(Data(node.data))
            if node.data.last != 10 && !node.data.isEmpty && isatty(1) != 0 { print() }
        }
    }
}

struct StatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stat", abstract: "Print a node's stat.", usage: "cairnctl stat [<options>] <path>")
    @OptionGroup var options: LiveOptions
    @Argument var path: String

    func run() async throws {
        guard let stat = try await options.withClient({ try await $0.exists(path) }) else {
            fail("no node at \(path)", code: .failed)
        }
        if options.json {
            printJSON(statObject(stat))
        } else {
            for (key, value) in statObject(stat).sorted(by: { $0.key < $1.key }) { print("\(key) = \(value)") }
        }
    }
}

struct Create: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create a node; prints its path.")
    @OptionGroup var options: LiveOptions
    @Flag(name: .short, help: "Ephemeral (goes with this command's session: mostly for tests).") var ephemeral = false
    @Flag(name: .short, help: "Sequential: append the parent's counter.") var sequential = false
    @Flag(name: .short, help: "Container: deleted by the server once emptied.") var container = false
    @Option(help: "Persistent with a TTL, in ms.") var ttl: Int64?
    @Option(help: "ACL, as for 'acl set' (default world:anyone:cdrwa).") var acl: String?
    @OptionGroup var input: DataInput
    @Argument var path: String
    @Argument(help: "The data, as text (or use --data-file).") var data: String?

    func run() async throws {
        let mode: CreateMode =
            ephemeral
            ? .ephemeral : container ? .container : ttl.map { .persistentWithTTL(.milliseconds($0)) } ?? .persistent
        let entries = try acl.map(ACLText.parse) ?? .open
        let bytes = try input.bytes(data, orEmpty: true)
        let created = try await options.withClient {
            try await $0.create(path, data: bytes, mode: mode, sequential: sequential, acl: entries)
        }
        if options.json { printJSON(["path": created]) } else { print(created) }
    }
}

struct SetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set", abstract: "Set a node's data.", usage: "cairnctl set [<options>] <path> [<data>]")
    @OptionGroup var options: LiveOptions
    @Option(name: .short, help: "Expected version (-1: any).") var version: Int32 = -1
    @OptionGroup var input: DataInput
    @Argument var path: String
    @Argument(help: "The data, as text (or use --data-file).") var data: String?

    func run() async throws {
        let bytes = try input.bytes(data, orEmpty: false)
        let stat = try await options.withClient { try await $0.set(path, data: bytes, version: version) }
        if options.json { printJSON(statObject(stat)) } else { print("version \(stat.version)") }
    }
}

struct Rm: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete a node (-R: with everything below it).", usage: "cairnctl rm [<options>] <path>",
        discussion: """
            With -R the subtree is deleted in one atomic multi when it fits one batch (--batch-size, 1,000 by \
            default, the server's --max-multi-ops): all of it or, on a conflict, none. A larger subtree goes in \
            several atomic batches, children first, and the command says so: a failure midway leaves what the \
            batches before it had not reached.
            """)
    @OptionGroup var options: LiveOptions
    @Option(name: .short, help: "Expected version (-1: any).") var version: Int32 = -1
    @Flag(name: .customShort("R"), help: "Recursive: delete the subtree, children first.") var recursive = false
    @Option(help: "With -R: deletes per atomic batch.") var batchSize = 1000
    @Argument var path: String

    func run() async throws {
        let deleted = try await options.withClient { client in
            guard recursive else {
                try await client.delete(path, version: version)
                return 1
            }
            return try await removeSubtree(client)
        }
        if options.json { printJSON(["deleted": deleted]) }
    }

    /// Deletes the subtree in batches of `batchSize` deletes, children before parents, the root last (with
    /// `version`); returns how many nodes went.
    private func removeSubtree(_ client: CairnClient) async throws -> Int {
        var order: [String] = []
        var pending = [path]
        while let next = pending.popLast() {
            order.append(next)
            pending += try await client.children(next).map { (next == "/" ? "" : next) + "/" + $0 }
        }
        // Parents were listed before their children: reversed, every node comes after all below it. The root and
        // ZooKeeper's own nodes stay (they cannot be deleted).
        let deletes = try order.reversed().filter { path in
            let node = try ZNodePath(path)
            return !node.isRoot && !node.isSystemNode
        }.map { MultiOp.delete($0, version: $0 == path ? version : -1) }
        let batches = stride(from: 0, to: deletes.count, by: batchSize).map {
            Array(deletes[$0..<min($0 + batchSize, deletes.count)])
        }
        if batches.count > 1 && !options.json {
            FileHandle.standardError.write(
                Data(
                    "cairnctl: \(path) holds \(deletes.count) nodes, more than one batch of \(batchSize): deleting in \(batches.count) atomic batches, children first\n"
                        .utf8))
        }
        let progress = Progress("deleted", total: .nodes(deletes.count), json: options.json)
        var deleted = 0
        for batch in batches {
            try await client.multi(batch)
            deleted += batch.count
            progress.update(nodes: deleted, bytes: 0)
        }
        progress.done()
        return deleted
    }
}

/// Where create's and set's data comes from: the argument (text) or `--data-file` (any bytes; `-` is stdin).
struct DataInput: ParsableArguments {
    @Option(help: "Read the data from this file, byte for byte ('-': standard input).") var dataFile: String?

    /// The bytes; with neither the argument nor the file, empty when `orEmpty`, else a usage error.
    func bytes(_ argument: String?, orEmpty: Bool) throws -> [UInt8] {
        switch (argument, dataFile) {
        case (let text?, nil): return Array(text.utf8)
        case (nil, "-"?): return Array(FileHandle.standardInput.readDataToEndOfFile())
        case (nil, let path?):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ValidationError("--data-file: cannot read \(path)")
            }
            return Array(data)
        case (nil, nil):
            guard orEmpty else { throw ValidationError("give the data, or --data-file PATH ('-' for stdin)") }
            return []
        case (_?, _?): throw ValidationError("give the data or --data-file, not both")
        }
    }
}

func statObject(_ s: Stat) -> [String: Any] {
    [
        "czxid": s.czxid, "mzxid": s.mzxid, "pzxid": s.pzxid, "ctime": s.ctime, "mtime": s.mtime, "version": s.version,
        "cversion": s.cversion, "ephemeral_owner": s.ephemeralOwner?.hex ?? NSNull(), "data_length": s.dataLength,
        "num_children": s.numChildren,
    ]
}
