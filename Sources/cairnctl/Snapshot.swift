import ArgumentParser
import Cairn
import CairnCore
import CairnProtocol
import CairnStore
import Foundation
import Logging
import Synchronization

struct Snapshot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Take, list and restore snapshots.", subcommands: [Save.self, List.self, Restore.self])

    struct Save: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Have the server take a fresh snapshot and download it (checksum verified).",
            usage: "cairnctl snapshot save [<options>] -o <o>",
            discussion: "Writes FILE and FILE.manifest (zxid, size, CRC-32C), which `snapshot restore` checks.")
        @OptionGroup var options: LiveOptions
        @Option(name: .short, help: "Where to write the snapshot.") var output: String

        func run() async throws {
            let partial = output + ".partial"
            _ = FileManager.default.createFile(atPath: partial, contents: nil, attributes: ownerOnly)
            guard let handle = FileHandle(forWritingAtPath: partial) else {
                throw ValidationError("cannot write \(output)")
            }
            let received = Mutex((crc: CRC32C(), size: 0))
            let progress = Progress("downloaded", counting: .bytes, json: options.json)
            let (zxid, reply) = try await options.withClient { client in
                try await client.streaming(.snapshot) { event in
                    guard case .snapshotChunk(let chunk) = event else { return }
                    handle.write(Data(chunk))
                    let size = received.withLock {
                        $0.crc.update(chunk)
                        $0.size += chunk.count
                        return $0.size
                    }
                    progress.update(nodes: 0, bytes: size)
                }
            }
            progress.done()
            guard case .snapshotTaken(let sentSize, let sentChecksum) = reply else {
                fail("the server's reply to snapshot is not a snapshot's", code: .failed)
            }
            try handle.synchronize()
            try handle.close()
            let (crc, size) = received.withLock { ($0.crc.value, $0.size) }
            guard crc == sentChecksum, size == sentSize else {
                try? FileManager.default.removeItem(atPath: partial)
                fail(
                    "the downloaded snapshot does not match its checksum (\(size) bytes received, \(sentSize) sent)",
                    code: .damaged)
            }
            _ = rename(partial, output)
            let info = SnapshotInfo(
                zxid: zxid, size: size, checksum: crc, created: Int64(SystemClock.wallMilliseconds()),
                path: output)
            try info.manifest.write(toFile: output + ".manifest", atomically: true, encoding: .utf8)
            if options.json {
                printJSON(["file": output, "zxid": zxid, "size": size, "crc32c": crc])
            } else {
                print(
                    "snapshot at zxid \(zxid) saved to \(output) (\(size) bytes, crc32c \(String(crc, radix: 16)))"
                )
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the server's snapshots, newest first.", usage: "cairnctl snapshot list [<options>]")
        @OptionGroup var options: LiveOptions
        @OptionGroup var listing: ListingOptions

        func run() async throws {
            let (_, reply) = try await options.withClient { try await $0.streaming(.listSnapshots) { _ in } }
            guard case .snapshots(let snapshots) = reply else {
                fail("the server's reply to snapshots is not a list", code: .failed)
            }
            switch listing.format(options) {
            case .json:
                for s in snapshots {
                    printJSON(["zxid": s.zxid, "size": s.size, "crc32c": s.checksum, "created": s.created])
                }
            case .table:
                printTable(
                    ["ZXID", "BYTES", "CRC32C", "CREATED"],
                    snapshots.map {
                        ["\($0.zxid)", "\($0.size)", String($0.checksum, radix: 16), Self.time($0.created)]
                    }, numeric: [0, 1])
            case .text:
                for s in snapshots { print("zxid \(s.zxid)  \(s.size) bytes  created \(s.created)") }
            }
        }

        /// ms since the epoch, as ISO 8601 (UTC).
        private static func time(_ milliseconds: Int64) -> String {
            Date(timeIntervalSince1970: Double(milliseconds) / 1000).formatted(.iso8601)
        }
    }

    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a new data directory from a snapshot file, verified first.")
        @Option(help: "The new data directory.") var dataDir: String
        @Flag(help: "Machine-readable JSON output.") var json = false
        @Argument(help: "The snapshot file (from `snapshot save`).") var file: String

        func run() throws {
            do {
                let zxid = try Store.restore(
                    snapshotFile: file, into: DataDirectory(dataDir), logger: silentLogger)
                if json {
                    printJSON(["data_dir": dataDir, "zxid": zxid])
                } else {
                    print("restored \(dataDir) at zxid \(zxid)")
                }
            } catch let error as StoreError {
                if case .corruptSnapshot = error { fail("\(error)", code: .damaged) }
                fail("\(error)", code: .failed)
            }
        }
    }
}
