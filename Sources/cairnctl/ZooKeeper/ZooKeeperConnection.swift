import ArgumentParser
import CairnCore
import CairnProtocol
import NIOCore
import NIOPosix

/// A session on a ZooKeeper server through its client protocol (`dump --zookeeper`, `load --zookeeper`): requests
/// are queued as they are made and sent together, any number in flight; replies and watch notifications are read
/// in the order the server sent them.
final class ZooKeeperConnection {
    /// What the server sent: the reply to request `xid`, or a watch notification.
    enum Frame {
        case reply(xid: Int32, zxid: Zxid, error: Int32, body: JuteReader)
        case notification(type: Int32, path: String)
    }

    /// The server refused or broke the conversation.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The server could not be reached, or the connection broke.
    struct Unreachable: Error, CustomStringConvertible {
        var description: String
    }

    /// ZooKeeper's `jute.maxbuffer` default: no reply is longer.
    static let maxFrame = 1 << 20 + 1024

    private var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private var queued = ByteBuffer()
    private var nextXid: Int32 = 1
    let address: HostPort

    private init(
        address: HostPort, inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator,
        outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    ) {
        self.address = address
        self.inbound = inbound
        self.outbound = outbound
    }

    /// `with` for cairnctl's commands: `server` is `--zookeeper`'s value; an unreachable server exits 2, a refusal 1.
    static func run<T>(_ server: String, digest: String?, _ body: (ZooKeeperConnection) async throws -> T)
        async throws -> T
    {
        guard let address = HostPort(server) else {
            throw ValidationError("--zookeeper must be HOST:PORT or [IPv6]:PORT, e.g. 127.0.0.1:2181")
        }
        do {
            return try await with(address, digest: digest, body)
        } catch let error as Unreachable {
            fail("\(error)", code: .unreachable)
        } catch let error as Failure {
            fail("\(error)", code: .failed)
        }
    }

    /// Connects, opens a session, sends `digest` credentials (`user:password`) when given, runs `body`, closes. A
    /// server that refuses the connection or closes it before the session is open (one still starting) is tried
    /// again, five times in all.
    static func with<T>(
        _ address: HostPort, digest: String?, _ body: (ZooKeeperConnection) async throws -> T
    ) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await session(address, digest: digest, body)
            } catch let error as Unestablished {
                guard attempt < 5 else { throw Unreachable(description: error.description) }
                attempt += 1
                try await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    /// No session came about: the connection failed or closed first.
    private struct Unestablished: Error, CustomStringConvertible {
        var description: String
    }

    private static func session<T>(
        _ address: HostPort, digest: String?, _ body: (ZooKeeperConnection) async throws -> T
    ) async throws -> T {
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await connect(address)
        } catch {
            throw Unestablished(description: "cannot reach the ZooKeeper at \(address): \(error)")
        }
        return try await channel.executeThenClose { inbound, outbound in
            let connection = ZooKeeperConnection(
                address: address, inbound: inbound.makeAsyncIterator(), outbound: outbound)
            do {
                try await connection.handshake()
            } catch let error as Unreachable {
                throw Unestablished(description: error.description)
            }
            if let digest { try await connection.authenticate(digest) }
            let result = try await body(connection)
            connection.queue(.closeSession) { _ in }
            try await connection.flush()
            return result
        }
    }

    private static func connect(_ address: HostPort) async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(5))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: address.host, port: address.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(FrameDecoder(maxLength: maxFrame)))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
    }

    private func handshake() async throws {
        var body = ByteBuffer()
        var w = JuteWriter(body)
        ZooKeeperRecords.writeConnectRequest(timeoutMilliseconds: 30_000, into: &w)
        body = w.bytes
        queued.writeInteger(Int32(body.readableBytes))
        queued.writeBuffer(&body)
        try await flush()
        guard var frame = try await inbound.next() else {
            throw Unreachable(description: "the ZooKeeper at \(address) closed the connection")
        }
        var r = JuteReader(frame.readSlice(length: frame.readableBytes)!, maxLength: Self.maxFrame)
        let (session, timeout) = try ZooKeeperRecords.readConnectResponse(&r)
        guard timeout > 0, session != 0 else { throw Failure(description: "\(address) refused a session") }
    }

    private func authenticate(_ digest: String) async throws {
        let xid: Int32 = -4
        queued(xid: xid, .auth) { w in
            w.int(0)
            w.string("digest")
            w.buffer(Array(digest.utf8))
        }
        while true {
            if case .reply(let replyXid, _, let error, _) = try await next(), replyXid == xid {
                guard error == 0 else { throw Failure(description: "\(address) refused the digest credentials") }
                return
            }
        }
    }

    /// Queues a request (sent at the next `flush` or `next`); returns its xid.
    @discardableResult
    func queue(_ type: ZooKeeperOpCode, _ record: (inout JuteWriter) -> Void) -> Int32 {
        let xid = nextXid
        nextXid = nextXid == .max ? 1 : nextXid + 1
        queued(xid: xid, type, record)
        return xid
    }

    private func queued(xid: Int32, _ type: ZooKeeperOpCode, _ record: (inout JuteWriter) -> Void) {
        let lengthAt = queued.writerIndex
        queued.writeInteger(Int32(0))
        var w = JuteWriter(queued)
        ZooKeeperRecords.writeRequestHeader(xid: xid, type: type, into: &w)
        record(&w)
        queued = w.bytes
        queued.setInteger(Int32(queued.writerIndex - lengthAt - 4), at: lengthAt)
    }

    /// Sends what is queued.
    func flush() async throws {
        guard queued.readableBytes > 0 else { return }
        let bytes = queued
        queued = ByteBuffer()
        try await outbound.write(bytes)
    }

    /// Sends what is queued, then reads the next reply or notification (a ping's answer is skipped).
    func next() async throws -> Frame {
        try await flush()
        while true {
            guard var frame = try await inbound.next() else {
                throw Unreachable(description: "the ZooKeeper at \(address) closed the connection")
            }
            var r = JuteReader(frame.readSlice(length: frame.readableBytes)!, maxLength: Self.maxFrame)
            let header = try ZooKeeperRecords.ReplyHeader(from: &r)
            switch header.xid {
            case -1:
                let event = try ZooKeeperRecords.readWatcherEvent(&r)
                return .notification(type: event.type, path: event.path)
            case -2: continue
            default:
                return .reply(xid: header.xid, zxid: Zxid(bitPattern: header.zxid), error: header.error, body: r)
            }
        }
    }
}

/// Cuts ZooKeeper's frames (a 4-byte big-endian length, then that many bytes) out of the byte stream.
private struct FrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    let maxLength: Int

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: Int32.self) else {
            return .needMoreData
        }
        guard length >= 0, Int(length) <= maxLength else {
            throw ZooKeeperConnection.Failure(description: "a frame of \(length) bytes from the server")
        }
        guard buffer.readableBytes >= 4 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(length))!))
        return .continue
    }
}
