import ArgumentParser
import Cairn
import Foundation

struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print changes under a node until interrupted.", usage: "cairnctl watch [<options>] <path>")
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
    static let configuration = CommandConfiguration(
        abstract: "Print the server's figures.", usage: "cairnctl stats [<options>]")
    @OptionGroup var options: LiveOptions

    func run() async throws {
        let s = try await options.withClient(session: false) { try await $0.stats() }
        let object: [String: Any] = [
            "zxid": s.zxid, "znodes": s.znodes, "sessions": s.sessions, "watches": s.watches,
            "connections": s.connections,
            "wal_bytes": s.walBytes, "commit_batches": s.commitBatches, "committed_changes": s.committedChanges,
            "fsync_us_total": s.fsyncMicrosecondsTotal, "last_snapshot_zxid": s.lastSnapshotZxid ?? NSNull(),
            "uptime_ms": s.uptimeMilliseconds,
            "write_error": s.writeError ?? NSNull(), "version": s.version,
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
        usage: "cairnctl health [<options>]",
        discussion: """
            Opens and closes a session, a durable write. A server that answers but cannot write (a full disk) \
            exits 1 saying why; one that does not answer exits 2.
            """)
    @OptionGroup var options: LiveOptions

    func run() async throws {
        let (zxid, writeError) = try await options.withClient(session: false) { client in
            let zxid = try await client.stats().zxid
            do {
                try await client.probeWrite()
                return (zxid, String?.none)
            } catch let error as ClientError {
                guard case .server(.unavailable, let message, _, _) = error else { throw error }
                return (zxid, message)
            }
        }
        if let writeError {
            if options.json { printJSON(["healthy": false, "zxid": zxid, "write_error": writeError]) }
            fail("the server answers and serves reads but cannot write: \(writeError)", code: .failed)
        }
        if options.json { printJSON(["healthy": true, "zxid": zxid]) } else { print("healthy (zxid \(zxid))") }
    }
}
