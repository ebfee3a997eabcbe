import CairnCore
import CairnTesting
import Dispatch
import Foundation
import Synchronization
import Testing

@testable import CairnStore

@Suite("Power cut: what fdatasync made durable is all that survives, and it holds every acknowledged change")
struct PowerCutTests {
    /// Twelve rounds on one data directory. In each, four writers create nodes (in order, each its own series)
    /// until the power is cut at a random moment; the WAL's files are then left as the disk holds them
    /// (`PowerCutFiles`: half the rounds keep nothing unsynced, the others a torn prefix of it), the machine
    /// "reboots" (LMDB, never synced meanwhile, is not trusted) and the store recovers with the real files.
    /// Every change acknowledged in any round must be there, and each writer's nodes must be a prefix of its series.
    @Test("acknowledged creates survive twelve simulated power cuts at random moments; no series has a hole")
    func acknowledgedChangesSurvive() throws {
        let directory = TemporaryDirectory("cairn-power-cut")
        var configuration = Store.Configuration(dataDirectory: directory.appending("data"))
        configuration.initialMapSize = 1 << 20
        configuration.walSegmentSize = 32 << 10  // rolls (segment files created, finished, named) inside rounds
        configuration.snapshotEveryChanges = 0
        configuration.snapshotEveryMilliseconds = 0
        var random = SplitMix64(seed: 0x9E37_79B9)
        var acked: Set<String> = []
        let writers = 4
        for round in 0..<12 {
            let files = PowerCutFiles()
            var running = configuration
            running.files = files
            let store = try Store.open(running, logger: quietLogger)
            let roundAcked = Mutex<[String]>([])
            let done = DispatchGroup()
            for writer in 0..<writers {
                done.enter()
                Thread {
                    defer { done.leave() }
                    for index in 0... {
                        let path = "/r\(round)-w\(writer)-\(index)"
                        let create = Operation.create(
                            path: path, data: Array(repeating: UInt8(index & 0xFF), count: 300), kind: .persistent,
                            sequential: false)
                        guard (try? store.commitBlocking(.operation(create))) != nil else { return }
                        roundAcked.withLock { $0.append(path) }
                    }
                }.start()
            }
            // The cut lands after a random number of acknowledgements, at a random moment after it.
            let target = 1 + random.next(300)
            while roundAcked.withLock({ $0.count }) < target { usleep(200) }
            usleep(UInt32(random.next(3_000)))
            files.cutPower()
            done.wait()
            store.close()
            let thisRound = roundAcked.withLock { $0 }
            acked.formUnion(thisRound)

            var unsynced: SplitMix64? = round % 2 == 0 ? nil : SplitMix64(seed: random.next())
            try files.leaveFilesAsAfterTheCut(keepingUnsynced: &unsynced)
            try Self.reboot(configuration.dataDirectory)

            let recovered = try Store.open(configuration, logger: quietLogger)
            defer { recovered.close() }
            let present = try Set(
                recovered.read { view in
                    var paths: [String] = []
                    try view.visit { paths.append($0.path.string) }
                    return paths
                })
            let lost = acked.subtracting(present)
            #expect(lost.count == 0, "round \(round): acknowledged creates lost, e.g. \(lost.sorted().prefix(3))")
            for writer in 0..<writers {
                let series = present.filter { $0.hasPrefix("/r\(round)-w\(writer)-") }
                let indices = series.compactMap { Int($0.split(separator: "-").last!) }.sorted()
                #expect(indices == Array(0..<indices.count), "round \(round), writer \(writer): a hole in \(indices)")
            }
        }
    }

    /// The lock file as a machine that lost power and booted again leaves it: held by a process that did not
    /// stop cleanly, under another boot id.
    static func reboot(_ directory: DataDirectory) throws {
        try Array("pid=1 boot=before-the-power-cut state=running\n".utf8).withUnsafeBytes { bytes in
            let fd = try FileSystem.open(directory.lockFile, flags: O_WRONLY | O_TRUNC)
            defer { close(fd) }
            try FileSystem.write(fd: fd, bytes, at: 0, path: directory.lockFile)
        }
    }
}
