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
            case .success(let done): handler.write(Replies.ok(id: id, zxid: done.zxid) { $0.int("nodes", done.nodes) })
            case .failure(let error): handler.write(JSONWriter.error(id: id, error))
            }
        }
        NIOThreadPool.singleton.submit { _ in
            finish(
                Result {
                    try store.read { view in
                        let zxid = try view.zxid
                        try stream.send(
                            Self.event("dump_start") {
                                $0.int("zxid", zxid)
                                $0.string("root", path.string)
                            })
                        var nodes = 0
                        try view.visit(from: path) { node in
                            try stream.send(Self.wrapped("dump", "node", DumpFormat.line(node, stat: stat)))
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
                handler.write(
                    Replies.ok(id: id, zxid: info.zxid) { w in
                        w.int("size", info.size)
                        w.int("crc32c", info.checksum)
                    })
            case .failure(let error): handler.write(JSONWriter.error(id: id, error))
            }
        }
        NIOThreadPool.singleton.submit { _ in
            finish(
                Result {
                    let info = try store.snapshot()
                    try store.readSnapshot(info, chunkSize: 768 << 10) { chunk in
                        try stream.send(
                            Self.event("snapshot_chunk") { $0.string("data_b64", Data(chunk).base64EncodedString()) })
                    }
                    try stream.drain()
                    return info
                }.mapError { ($0 as? CairnError) ?? .unavailable("snapshot failed: \($0)") })
        }
    }

    private static func event(_ name: String, _ fields: (inout JSONWriter) -> Void) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.string("event", name)
        fields(&w)
        w.endObject()
        return w.line()
    }

    /// `{"event":<name>,"<key>":<object line>}`: an already-encoded object wrapped in an event.
    private static func wrapped(_ name: String, _ key: String, _ line: [UInt8]) -> [UInt8] {
        Array("{\"event\":\"\(name)\",\"\(key)\":".utf8) + line.dropLast() + Array("}\n".utf8)
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
