import CairnCore
import CairnProtocol
import CairnStore
import NIOPosix

/// Long answers streamed from a thread-pool thread (with the stream's backpressure), then closed by the reply:
/// `dump` (one read transaction: a consistent point-in-time tree) and `snapshot` (a fresh snapshot's file).
extension RequestExecutor {
    func dump(
        _ path: ZNodePath, into stream: any EventStream, _ post: @escaping @Sendable (Answer) -> Void
    ) {
        let store = self.store
        NIOThreadPool.singleton.submit { _ in
            do {
                let (zxid, nodes) = try store.read { view in
                    let zxid = try view.zxid
                    try stream.send(.dumpStart(zxid: zxid, root: path))
                    var nodes = 0
                    try view.visit(from: path) { node in
                        var line = DumpFormat.line(node)
                        line.removeLast()
                        try stream.send(.dumpNode(line: line))
                        nodes += 1
                    }
                    try stream.finish()
                    return (zxid, nodes)
                }
                post(Answer(.ok(zxid: zxid, .dumped(nodes: nodes))))
            } catch {
                post(.failed((error as? CairnError) ?? .internal("\(error)")))
            }
        }
    }

    func snapshot(into stream: any EventStream, _ post: @escaping @Sendable (Answer) -> Void) {
        let store = self.store
        NIOThreadPool.singleton.submit { _ in
            do {
                let info = try store.snapshot()
                try store.readSnapshot(info, chunkSize: 768 << 10) { chunk in
                    try stream.send(.snapshotChunk(Array(chunk)))
                }
                try stream.finish()
                post(Answer(.ok(zxid: info.zxid, .snapshotTaken(size: info.size, checksum: info.checksum))))
            } catch {
                post(.failed((error as? CairnError) ?? .unavailable("snapshot failed: \(error)")))
            }
        }
    }
}
