import CairnCore
import CairnProtocol
import NIOCore

/// ZooKeeper's client protocol (../shared/design/ZOOKEEPER-WIRE.md; docs/zookeeper.md): 4-byte length frames, the
/// ConnectRequest handshake, then a request header and jute record per frame, answered in order with a reply header
/// and the op's response record; watch events are notifications (xid -1).
struct ZooKeeperFormat: WireFormat {
    static let frontEnd = FrontEnd.zooKeeper
    static let eventMemo = PushedEvent.Memo.zooKeeper

    /// What the reply to one request must look like, kept in request order (answers are written in that order).
    private struct Call {
        var xid: Int32
        /// nil: the handshake; `.error`: an opcode ZooKeeper does not know.
        var op: ZooKeeperOpCode?
        /// multi: how many ops (a failed multi has a result for each).
        var operations = 0
        /// The handshake's: whether the client sent the readOnly byte, and the password it resumes with.
        var readOnly: Bool?
        var password: [UInt8]?
    }

    private let server: CairnServer
    private let decoder: ZooKeeperRequestDecoder
    private let maxFrame: Int
    private var pending = ByteBuffer()
    private var calls = CircularBuffer<Call>()
    private var handshaken = false

    init(server: CairnServer) {
        self.server = server
        decoder = ZooKeeperRequestDecoder(maxOpsPerMulti: server.configuration.maxOpsPerMulti)
        maxFrame = server.configuration.maxZooKeeperFrameBytes
    }

    mutating func read(_ buffer: ByteBuffer, into decoded: inout [Inbound]) {
        var buffer = buffer
        pending.writeBuffer(&buffer)
        while let length = pending.getInteger(at: pending.readerIndex, endianness: .big, as: Int32.self) {
            if !handshaken, let word = FourLetterWord(code: length) {
                let allowed = server.configuration.zooKeeperFourLetterWords.contains("\(word)")
                let text =
                    allowed ? word.answer(server) : "\(word) is not executed because it is not in the whitelist.\n"
                decoded.append(.bytes(Array(text.utf8)))
                decoded.append(.close)
                return
            }
            guard length >= 0, Int(length) <= maxFrame else {
                server.logger.warning(
                    "ZooKeeper frame length out of bounds; closing", metadata: ["length": "\(length)"])
                decoded.append(.close)
                return
            }
            guard pending.readableBytes >= 4 + Int(length) else { break }
            pending.moveReaderIndex(forwardBy: 4)
            let body = pending.readSlice(length: Int(length))!
            if !frame(body, into: &decoded) { return }
        }
        pending.discardReadBytes()
    }

    /// Handles one frame; false when the connection closes.
    private mutating func frame(_ frame: ByteBuffer, into decoded: inout [Inbound]) -> Bool {
        var r = JuteReader(frame, maxLength: maxFrame)
        do {
            guard handshaken else { return try handshake(&r, into: &decoded) }
            let header = try ZooKeeperRecords.RequestHeader(from: &r)
            var call = Call(xid: header.xid, op: ZooKeeperOpCode(rawValue: header.type) ?? .error)
            switch try decoder.decode(header.type, &r) {
            case .success(.request(let request)):
                if case .multi(let operations) = request { call.operations = operations.count }
                calls.append(call)
                decoded.append(.request(.init(id: nil, .success(request))))
            case .success(.refused):
                // The reply's code is the op's (ZooKeeperReplies: reconfig's is ReconfigDisabled, the rest -6).
                calls.append(call)
                decoded.append(.request(.init(id: nil, .failure(.unknownOp("\(header.type)")))))
            case .success(.unknown):
                calls.append(call)
                decoded.append(.request(.init(id: nil, .failure(.unknownOp("\(header.type)")), closesConnection: true)))
            case .failure(let error):
                calls.append(call)
                decoded.append(.request(.init(id: nil, .failure(error))))
            }
            return true
        } catch {
            server.logger.warning("malformed ZooKeeper request; closing", metadata: ["error": "\(error)"])
            decoded.append(.close)
            return false
        }
    }

    /// The ConnectRequest: a new session, or a resume. A client that has seen a zxid past the store's is closed with
    /// no answer (it must try another server, as ZooKeeper tells it).
    private mutating func handshake(_ r: inout JuteReader, into decoded: inout [Inbound]) throws -> Bool {
        let connect = try ZooKeeperRecords.ConnectRequest(from: &r)
        let zxid = (try? server.executor.zxid()) ?? 0
        guard connect.lastZxidSeen <= Int64(bitPattern: zxid) else {
            server.logger.info(
                "ZooKeeper client has seen a later zxid; closing",
                metadata: ["client.zxid": "\(connect.lastZxidSeen)", "zxid": "\(zxid)"])
            decoded.append(.close)
            return false
        }
        handshaken = true
        let resume =
            connect.sessionID == 0
            ? nil
            : SessionCredentials(
                id: SessionID(rawValue: UInt64(bitPattern: connect.sessionID)), password: connect.password)
        calls.append(Call(xid: 0, op: nil, readOnly: connect.readOnly, password: resume?.password))
        let request = ClientRequest.connect(timeoutMilliseconds: Int64(connect.timeoutMilliseconds), resume: resume)
        decoded.append(.request(.init(id: nil, .success(request))))
        return true
    }

    mutating func write(_ answer: Answer, id: Int64?, into output: inout ByteBuffer) -> Bool {
        let call = calls.popFirst() ?? Call(xid: 0, op: .error)
        var w = JuteWriter(output)
        let start = w.bytes.writerIndex
        w.int(0)  // the frame's length, set below
        let closes = ZooKeeperReplies.write(
            answer.outcome, for: call.op, xid: call.xid, operations: call.operations,
            readOnly: call.readOnly, password: call.password, into: &w)
        w.bytes.setInteger(Int32(w.bytes.writerIndex - start - 4), at: start, endianness: .big)
        output = w.bytes
        return closes
    }

    static func encode(_ event: ServerEvent) -> [UInt8] {
        guard case .watch(let notification, let zxid) = event else { return [] }
        var w = JuteWriter(ByteBuffer())
        w.int(0)
        ZooKeeperRecords.replyHeader(xid: -1, zxid: Int64(bitPattern: zxid), error: 0, into: &w)
        ZooKeeperRecords.writeWatcherEvent(notification, into: &w)
        w.bytes.setInteger(Int32(w.bytes.readableBytes - 4), at: 0, endianness: .big)
        return Array(w.bytes.readableBytesView)
    }

    /// A refused connection is closed without a word: a ZooKeeper client has no frame for it.
    static func refusal(_ error: CairnError) -> [UInt8] { [] }

    /// ZooKeeper's protocol has no streamed answers (dump and snapshot are JSON-lines ops).
    static func stream(on channel: any Channel) -> any EventStream { LineStream(channel: channel) }
}

/// The ZooKeeper front end's connections.
typealias ZooKeeperHandler = FrontEndHandler<ZooKeeperFormat>
