import ArgumentParser
import CairnCore
import CairnStore
import Dispatch
import Glibc

/// Crash-drill child: submits a known sequence of changes, printing `ack <k> <zxid>` for each one the
/// store acknowledged, and keeps going until it is killed (SIGKILL at a random moment, by the test or
/// `tools/crash-drill`). Request k creates `/drill/n<k>` with data `v<k>`; every third request is a
/// multi that also sets `/drill`'s data to `<k>`. So the state after the first m requests is known
/// exactly, and a reopened store must hold such a state, with m past every acknowledged k.
@main
struct Drill: ParsableCommand {
    @Option(help: "Data directory.") var dataDir: String
    @Option(help: "Requests in flight at once.") var inFlight: Int = 32
    @Option(help: "WAL segment size in bytes (small, so segments roll during the drill).") var segmentSize: Int =
        256 << 10
    @Option(help: "Snapshot every N changes (small, so snapshots and retention run during the drill).")
    var snapshotEvery: Int = 2000
    @Option(help: "Stop after this many requests in total.") var limit: Int = 1_000_000

    func run() throws {
        var configuration = Store.Configuration(dataDirectory: dataDir)
        configuration.walSegmentSize = segmentSize
        configuration.snapshotEveryChanges = snapshotEvery
        configuration.snapshotsToKeep = 2
        configuration.initialMapSize = 1 << 20
        let store = try Store.open(configuration)
        let drill = try ZNodePath("/drill")
        var start = 0
        if let children = try store.read({ try $0.children(of: drill) }) {
            start = children.names.count
        } else {
            _ = try store.commitBlocking(
                .operation(.create(path: "/drill", data: [], kind: .persistent, sequential: false)))
        }
        say("open \(start) \(store.recovery.zxid)")
        let slots = DispatchSemaphore(value: inFlight)
        for k in start..<limit {
            slots.wait()
            let create = Operation.create(
                path: "/drill/n\(k)", data: Array("v\(k)".utf8), kind: .persistent, sequential: false)
            let request: Request =
                k % 3 == 2
                ? .multi([create, .setData(path: drill, data: Array("\(k)".utf8), version: -1)]) : .operation(create)
            store.submit(request) { result in
                switch result {
                case .success(let committed): say("ack \(k) \(committed.zxid)")
                case .failure(let error): say("fail \(k) \(error.code)")
                }
                slots.signal()
            }
        }
        say("done")
        while true { sleep(60) }
    }
}

/// One unbuffered line on stdout, so a line written before SIGKILL is never lost in a buffer.
func say(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}
