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
        let kinds = s.watchesByKind
        let object: [String: Any] = [
            "zxid": s.zxid, "znodes": s.znodes, "ephemerals": s.ephemerals, "sessions": s.sessions,
            "watches": s.watches,
            "watches_by_kind": [
                "data": kinds.data, "child": kinds.child, "persistent": kinds.persistent,
                "persistent_recursive": kinds.persistentRecursive,
            ],
            "connections": s.connections,
            "connections_by_front_end": [
                "json": s.connectionsByFrontEnd.json, "zookeeper": s.connectionsByFrontEnd.zooKeeper,
            ],
            "wal_bytes": s.walBytes, "wal_segments": s.walSegments, "commit_batches": s.commitBatches,
            "committed_changes": s.committedChanges, "fsync_us_total": s.fsyncMicrosecondsTotal,
            "store_map_bytes": s.storeMapBytes, "store_used_bytes": s.storeUsedBytes, "snapshots_kept": s.snapshots,
            "last_snapshot_zxid": s.lastSnapshotZxid ?? NSNull(), "recovery_ms": s.recoveryMilliseconds,
            "recovery_replayed_changes": s.recoveryReplayedChanges, "uptime_ms": s.uptimeMilliseconds,
            "write_error": s.writeError ?? NSNull(), "version": s.version,
            "latency": s.latencies.map {
                ["op": $0.op, "count": $0.count, "p50_us": $0.p50Microseconds, "p99_us": $0.p99Microseconds]
            },
        ]
        if options.json { return printJSON(object) }
        for (key, value) in object.sorted(by: { $0.key < $1.key }) {
            switch value {
            case let counts as [String: Int]:
                print(
                    "\(key) = "
                        + counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
            case is [[String: Any]]: continue
            default: print("\(key) = \(value)")
            }
        }
        guard !s.latencies.isEmpty else { return }
        print("\nlatency by op (µs)")
        print(pad("op", 20) + pad("count", 12, right: true) + pad("p50", 10, right: true) + pad("p99", 10, right: true))
        for latency in s.latencies {
            print(
                pad(latency.op, 20) + pad("\(latency.count)", 12, right: true)
                    + pad("\(latency.p50Microseconds)", 10, right: true)
                    + pad("\(latency.p99Microseconds)", 10, right: true))
        }
    }

    /// `text` in a column `width` wide.
    private func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(width - text.count, 0))
        return right ? fill + text : text + fill
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
