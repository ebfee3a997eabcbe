import CairnCore
import CairnProtocol
import CairnStore
import FoundationEssentials
import NIOCore
import NIOPosix
import Synchronization

/// Long answers streamed from a thread-pool thread, with backpressure, then closed by the reply:
/// `dump` (one read transaction: a consistent point-in-time tree) and `snapshot` (a fresh snapshot's file).
extension ConnectionHandler {
    func dump(_ path: ZNodePath, stat: Bool, id: Int64?) {
        let stream = LineStream(channel: context!.channel)
        let store = server.store
        let finish = later { (handler, outcome: Result<(zxid: Zxid, nodes: Int), CairnError>) in
            switch outcome {
            case .success(let done): handler.write(Reply.dumped(nodes: done.nodes).line(id: id, zxid: done.zxid))
            case .failure(let error): handler.write(ErrorReply(error).line(id: id))
            }
        }
        NIOThreadPool.singleton.submit { _ in
            finish(
                Result {
                    try store.read { view in
                        let zxid = try view.zxid
                        try stream.send(ServerEvent.dumpStart(zxid: zxid, root: path).line())
                        var nodes = 0
                        try view.visit(from: path) { node in
                            var line = DumpFormat.line(node, stat: stat)
                            line.removeLast()
                            try stream.send(ServerEvent.dumpNode(line: line).line())
                            nodes += 1
                        }
                        try stream.drain()
                        return (zxid, nodes)
                    }
                }.mapError { ($0 as? CairnError) ?? .internal("\($0)") })
        }
    }

    func snapshot(id: Int64?) {
        let stream = LineStream(channel: context!.channel)
        let store = server.store
        let finish = later { (handler, outcome: Result<SnapshotInfo, CairnError>) in
            switch outcome {
            case .success(let info):
                let reply = Reply.snapshotTaken(size: info.size, checksum: info.checksum)
                handler.write(reply.line(id: id, zxid: info.zxid))
            case .failure(let error): handler.write(ErrorReply(error).line(id: id))
            }
        }
        NIOThreadPool.singleton.submit { _ in
            finish(
                Result {
                    let info = try store.snapshot()
                    try store.readSnapshot(info, chunkSize: 768 << 10) { chunk in
                        try stream.send(ServerEvent.snapshotChunk(Array(chunk)).line())
                    }
                    try stream.drain()
                    return info
                }.mapError { ($0 as? CairnError) ?? .unavailable("snapshot failed: \($0)") })
        }
    }

}

/// Writes lines to a channel from a non-event-loop thread in chunks of 64 KiB (one event-loop hop and one
/// flush per chunk, not per line), waiting for the socket to take them after every MiB, so a stream of any
/// length holds bounded memory.
final class LineStream: Sendable {
    let channel: any Channel
    private let state = Mutex((chunk: [UInt8](), unwaitedBytes: 0, last: EventLoopFuture<Void>?.none))

    init(channel: any Channel) { self.channel = channel }

    func send(_ line: [UInt8]) throws {
        let full: [UInt8]? = state.withLock { state in
            state.chunk.append(contentsOf: line)
            guard state.chunk.count >= 64 << 10 else { return nil }
            defer { state.chunk = [] }
            return state.chunk
        }
        if let full { try write(full) }
    }

    /// Sends what is still buffered and waits until everything sent so far is written.
    func drain() throws {
        let rest = state.withLock { state in
            defer { state.chunk = [] }
            return state.chunk
        }
        if !rest.isEmpty { try write(rest) }
        try waitForWrites()
    }

    private func write(_ chunk: [UInt8]) throws {
        let future = channel.writeAndFlush(channel.allocator.buffer(bytes: chunk))
        let full = state.withLock { state in
            state.unwaitedBytes += chunk.count
            state.last = future
            return state.unwaitedBytes >= 1 << 20
        }
        if full { try waitForWrites() }
    }

    private func waitForWrites() throws {
        let last = state.withLock { state in
            defer { (state.unwaitedBytes, state.last) = (0, nil) }
            return state.last
        }
        try last?.wait()
    }
}
