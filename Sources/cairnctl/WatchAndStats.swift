import ArgumentParser
import Cairn
import Foundation

struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print changes under a node until interrupted.")
    @OptionGroup var options: LiveOptions
    @Flag(help: "The whole subtree.") var recursive = false
    @Option(help: "Replay changes after this zxid first.") var since: UInt64?
    @Argument var path: String

    func run() async throws {
        try await options.withClient { client in
            for try await event in try await client.watch(path, recursive: recursive, since: since) {
                if options.json {
                    printJSON(["type": event.type.rawValue, "path": event.path, "zxid": event.zxid])
                } else {
                    emit("\(event.zxid) \(event.type.rawValue) \(event.path)")
                }
            }
        }
    }
}

struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the server's figures.")
    @OptionGroup var options: LiveOptions

    func run() async throws {
        let s = try await options.withClient { try await $0.stats() }
        let object: [String: Any] = [
            "zxid": s.zxid, "znodes": s.znodes, "sessions": s.sessions, "watches": s.watches, "connections": s.connections,
            "wal_bytes": s.walBytes, "commit_batches": s.commitBatches, "committed_changes": s.committedChanges,
            "fsync_us_total": s.fsyncMicrosecondsTotal, "last_snapshot_zxid": s.lastSnapshotZxid ?? NSNull(), "uptime_ms": s.uptimeMilliseconds,
            "version": s.version,
        ]
        if options.json {
            printJSON(object)
        } else {
            for (key, value) in object.sorted(by: { $0.key < $1.key }) { print("\(key) = \(value)") }
        }
    }
}

struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Exit 0 only when the server answers and can write (for orchestrators' probes).",
        discussion: "Opening a session is itself a durable write, so a server that cannot write fails this.")
    @OptionGroup var options: LiveOptions

    func run() async throws {
        let zxid = try await options.withClient { client in try await client.sync() }
        if options.json { printJSON(["healthy": true, "zxid": zxid]) } else { print("healthy (zxid \(zxid))") }
    }
}
