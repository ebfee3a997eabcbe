import CairnCore
import CairnStore
import CairnTesting
import Foundation
import Testing

@Suite("Crash recovery: SIGKILL at random moments loses nothing acknowledged")
struct CrashRecoveryTests {
    /// The drill child (`cairn-store-drill`) prints `ack <k> <zxid>` for each acknowledged request k; the
    /// state after the first m requests is known exactly (see the drill's doc comment).
    @Test("after each of 25 SIGKILLs every acked change is there and the state is a prefix of what was submitted")
    func killLoop() throws {
        let directory = TemporaryDirectory("cairn-crash")
        let dataDir = directory.appending("data")
        let drill = BuiltProducts.path(of: "cairn-store-drill")
        var submittedSoFar = 0
        for iteration in 0..<25 {
            let child = try ChildProcess(drill, ["--data-dir", dataDir])
            // Half the kills land after the store opened and acked some writes, the others anywhere,
            // recovery and snapshotting included.
            let afterOpen = iteration % 2 == 0
            let delay = UInt32.random(in: 0...150_000)
            if afterOpen { _ = child.waitForOutput(seconds: 20) { $0.contains { $0.hasPrefix("open") } } }
            usleep(delay)
            child.kill()
            child.wait()
            let lines = child.output
            let acked = lines.compactMap { line -> (k: Int, zxid: Zxid)? in
                let parts = line.split(separator: " ")
                guard parts.count == 3, parts[0] == "ack", let k = Int(parts[1]), let zxid = Zxid(parts[2]) else {
                    return nil
                }
                return (k, zxid)
            }
            #expect(
                !lines.contains { $0.hasPrefix("fail") },
                "iteration \(iteration): \(lines.filter { $0.hasPrefix("fail") })")
            for ack in acked { #expect(ack.zxid == Zxid(ack.k) + 2, "request k is change k+2") }

            var configuration = Store.Configuration(dataDirectory: dataDir)
            configuration.snapshotEveryChanges = 0
            let store = try Store.open(configuration, logger: quietLogger)
            defer { store.close() }
            let names = try store.read { try $0.children(of: path("/drill"))?.names } ?? []
            let m = names.count
            let expectedNames = (0..<m).map { "n\($0)" }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            #expect(names == expectedNames, "iteration \(iteration): the children must be requests 0..<\(m), a prefix")
            let maxAcked = acked.map(\.k).max() ?? -1
            #expect(m > maxAcked, "iteration \(iteration): request \(maxAcked) was acked but only \(m) survived")
            #expect(m >= submittedSoFar, "iteration \(iteration): \(submittedSoFar) survived before, \(m) now")
            let samples = Array(Set([0, m / 2, m - 1].filter { $0 >= 0 && $0 < m }))
            let (sampled, drillData, zxid) = try store.read { view throws -> ([[UInt8]?], [UInt8]?, Zxid) in
                (
                    try samples.map { try view.node(at: path("/drill/n\($0)"))?.data },
                    try view.node(at: path("/drill"))?.data, try view.zxid
                )
            }
            #expect(sampled == samples.map { bytes("v\($0)") })
            let lastMulti = stride(from: m - 1, through: 0, by: -1).first { $0 % 3 == 2 }
            #expect(drillData == bytes(lastMulti.map { "\($0)" } ?? ""))
            if m > 0 { #expect(zxid == Zxid(m) + 1) }
            submittedSoFar = m
        }
        #expect(submittedSoFar > 0, "the drill made progress")
    }
}
