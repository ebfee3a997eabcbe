import ArgumentParser
import CairnCore
import CairnStore
import Foundation

struct WAL: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wal", abstract: "Inspect, verify and repair a data directory's write-ahead log (offline).",
        subcommands: [Inspect.self, Verify.self, Repair.self])

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One line per record: zxid, time, session, change, paths.")
        @Option(help: "The data directory.") var dataDir: String
        @Option(help: "Start at this zxid.") var from: UInt64 = 1
        @Flag(help: "Machine-readable JSON output.") var json = false

        func run() throws {
            let report = try walReport {
                try WALTools.inspect(DataDirectory(dataDir), from: from) { print(line(for: $0)) }
            }
            if let damage = report.damage { fail("\(damage)", code: .damaged) }
        }

        private func line(for change: Change) -> String {
            let effects = change.effects.map(describe)
            if json {
                var object: [String: Any] = ["zxid": change.zxid, "time": change.time, "effects": effects]
                object["session"] = change.session?.hex
                guard
                    let data = try? JSONSerialization.data(
                        withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
                else { return "" }
                return String(decoding: data, as: UTF8.self)
            }
            let time = Date(timeIntervalSince1970: Double(change.time) / 1000).formatted(.iso8601)
            return "\(change.zxid) \(time) \(change.session?.hex ?? "-") \(effects.joined(separator: "; "))"
        }

        /// Data's size, or `null` for null data.
        private static func size(_ data: [UInt8]?) -> String { data.map { "\($0.count)B" } ?? "null" }

        private func describe(_ effect: Change.Effect) -> String {
            switch effect {
            case .createNode(let path, let data, let kind, _, let acl):
                "create \(path) \(kind) \(Self.size(data))" + (acl.isOpen ? "" : " acl=\(acl.count)")
            case .deleteNode(let path): "delete \(path)"
            case .setData(let path, let data): "set \(path) \(Self.size(data))"
            case .check(let path, let version): "check \(path) v\(version)"
            case .setACL(let path, let acl): "set-acl \(path) \(acl.count) entries"
            case .restoreCounters(let path, let c):
                "restore-counters \(path) seq=\(c.sequence) v\(c.version) av\(c.aversion)"
            case .createSession(let id, let timeout, _): "session-open \(id.hex) \(timeout)ms"
            case .closeSession(let id): "session-close \(id.hex)"
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read every record; exit 3 on damage (a torn tail alone is fine: the next start cuts it).")
        @Option(help: "The data directory.") var dataDir: String
        @Flag(help: "Machine-readable JSON output.") var json = false

        func run() throws {
            let report = try walReport { try WALTools.inspect(DataDirectory(dataDir)) }
            if json {
                var object: [String: Any] = ["records": report.records, "segments": report.segments]
                object["first_zxid"] = report.firstZxid
                object["last_zxid"] = report.lastZxid
                object["torn_tail_bytes"] = report.tornTail?.bytes ?? 0
                object["damage"] = report.damage.map { "\($0)" }
                printJSON(object)
            } else {
                print(
                    "\(report.records) records in \(report.segments) segments, zxid \(report.firstZxid ?? 0)…\(report.lastZxid ?? 0)"
                )
                if let torn = report.tornTail {
                    print(
                        "torn tail: \(torn.bytes) bytes at offset \(torn.offset) of \(torn.file) (cut at the next start)"
                    )
                }
            }
            if let damage = report.damage { fail("\(damage)", code: .damaged) }
        }
    }

    struct Repair: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cut the log at its first damage (or torn tail), keeping the cut bytes in side files.",
            discussion: """
                Changes after the cut are lost unless the store already holds them; it reports how many and their zxids. \
                Read the side files before deleting them. Needs free space of \(WALTools.repairSpaceBound), checked \
                before anything is changed.
                """)
        @Option(help: "The data directory.") var dataDir: String
        @Flag(help: "Machine-readable JSON output.") var json = false

        func run() throws {
            let repair = try walReport { try WALTools.repair(DataDirectory(dataDir)) }
            if json {
                var object: [String: Any] = [
                    "side_files": repair.sideFiles, "log_archived": repair.logArchived,
                    "removed_changes": repair.removedChanges,
                ]
                object["last_zxid"] = repair.lastZxid
                object["removed_zxids"] = repair.removedZxids.map { [$0.lowerBound, $0.upperBound] }
                printJSON(object)
                return
            }
            if repair.sideFiles.isEmpty { print("nothing to repair: the log is whole") }
            for file in repair.sideFiles { print("cut bytes kept in \(file)") }
            if let removed = repair.removedZxids {
                print(
                    "removed \(repair.removedChanges) whole changes from the log (zxid \(removed.lowerBound)…\(removed.upperBound))"
                )
            } else if !repair.sideFiles.isEmpty {
                print("removed no whole change from the log (only a damaged or torn record)")
            }
            if repair.logArchived {
                print("the store holds more than the log: the log was set aside; the store stands on its own")
            }
            print("the log now ends at zxid \(repair.lastZxid ?? 0)")
        }
    }
}

/// Runs an offline WAL tool, turning a held lock or I/O failure into a message and exit code 1.
func walReport<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as StoreError {
        fail("\(error)", code: .failed)
    }
}
