import CairnCore
import CairnProtocol
import Logging
import NIOCore
import NIOSSL
import NIOTLS

/// The JSON-lines front end of one connection: it frames request lines, decodes them into typed requests, and
/// encodes answers and events as lines, batching its output. In which order requests run and replies go out is
/// `ConnectionStateMachine`'s; what a request does is `RequestExecutor`'s. Event-loop confined.
final class JSONLinesHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let server: CairnServer
    /// Splits what the socket delivers into request lines, inside this handler.
    private let lines: NIOSingleStepByteToMessageProcessor<JSONLineDecoder>
    private var machine: ConnectionStateMachine
    /// Set while the handler is in the pipeline. The context holds this handler, so keeping it after removal
    /// would be a cycle that leaks the whole connection (channel, pipeline, buffers) at every close. Requests
    /// run only while it is set (they arrive through the pipeline); output after removal is dropped.
    private var context: ChannelHandlerContext?
    /// The connection as the core knows it, once registered.
    private var scope: ConnectionScope?
    private var closing = false
    /// Replies and events written since the last flush, sent as one buffer (one allocation and one
    /// pending write per flush, not per line).
    private var output = ByteBuffer()
    /// The last reply line, kept once copied into `output` for its capacity: the next reply is written into
    /// it (no allocation per reply; `replyStorage()`).
    private var spareReply: [UInt8] = []

    init(server: CairnServer) {
        self.server = server
        lines = NIOSingleStepByteToMessageProcessor(JSONLineDecoder(maxLength: server.configuration.maxLineBytes))
        machine = ConnectionStateMachine(maxInFlight: server.configuration.maxRequestsInFlight)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        output = context.channel.allocator.buffer(capacity: 4096)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        scope = nil  // an answer still in flight must not keep the channel alive
    }

    func channelActive(context: ChannelHandlerContext) {
        let limit = server.configuration.maxConnections
        guard let handle = server.connections.add(context.channel, identity: peerIdentity(context), limit: limit) else {
            server.logger.warning(
                "connection refused: limit reached",
                metadata: ["connection.peer": "\(context.remoteAddress.map { "\($0)" } ?? "?")"])
            write(ErrorReply(.unavailable("the server has \(limit) connections, its limit")).line(id: nil))
            close()
            return
        }
        scope = ConnectionScope(handle)
        context.fireChannelActive()
    }

    /// What the connection proves by itself: its address (ZooKeeper's `ip` scheme).
    private func peerIdentity(_ context: ChannelHandlerContext) -> Identity {
        Identity(principals: context.remoteAddress?.ipAddress.map { [Principal(scheme: "ip", id: $0)] } ?? [])
    }

    func channelInactive(context: ChannelHandlerContext) {
        closing = true
        machine.closed()
        if let scope { server.disconnected(scope) }
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if !context.channel.isWritable && !closing {
            server.logger.warning(
                "disconnecting a client that does not read its replies",
                metadata: [
                    "connection.peer": "\(context.remoteAddress.map { "\($0)" } ?? "?")",
                    "limit.bytes": "\(server.configuration.maxOutboundBytes)",
                ])
            close()
        }
        context.fireChannelWritabilityChanged()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        // The decoder throws nothing (an overlong line is a frame), so neither does this.
        try? lines.process(buffer: unwrapInboundIn(data)) { frame in
            switch frame {
            case .tooLong:
                let error = CairnError.tooLarge(
                    "a request line is longer than \(server.configuration.maxLineBytes) bytes; the connection is closed"
                )
                machine.received(.init(id: nil, .failure(error), closesConnection: true))
            case .line(let buffer):
                // Decoded straight from the connection's buffer: no copy of the line.
                guard let (id, request) = buffer.withUnsafeReadableBytes(server.decoder.decode) else { return }
                if case .success(let runnable) = request,
                    let slot = machine.startNow(id: id, isChange: runnable.isChange)
                {
                    execute(runnable, in: slot)
                } else {
                    machine.received(.init(id: id, request))
                }
            }
        }
        drive()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush()
    }

    func read(context: ChannelHandlerContext) {
        if machine.readWanted() { context.read() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            // Before any request is read: a verified client certificate's subject is an `x509` id.
            if let principal = ServerTLS.principal(of: context.channel) {
                scope?.identity.update { $0.principals.append(principal) }
            }
            return context.fireUserInboundEventTriggered(event)
        }
        guard event is ConnectionInbox.Ready else { return context.fireUserInboundEventTriggered(event) }
        takeInbox()
        drive()
        flush()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A failed TLS handshake (a plaintext client, an unknown certificate) is the operator's business.
        let level: Logger.Level = error is NIOSSLError || error is BoringSSLError ? .warning : .debug
        server.logger.log(
            level: level, "connection error",
            metadata: [
                "error": "\(error)", "connection.peer": "\(context.remoteAddress.map { "\($0)" } ?? "?")",
            ])
        close()
    }

    // MARK: Driving the state machine

    /// Does what the state machine asks until it has nothing more to do.
    private func drive() {
        while !closing, let action = machine.nextAction() {
            switch action {
            case .execute(let slot, let request): execute(request, in: slot)
            case .write(let id, let answer): write(answer, id: id)
            case .resumeReading: context?.read()
            case .close: close()
            case .closeAfterReplies: closeAfterReplies()
            }
        }
    }

    private func execute(_ request: ClientRequest, in slot: ConnectionStateMachine.Slot) {
        guard !closing, let scope else { return }
        if let answer = server.executor.execute(request, slot: slot, for: scope, stream: { [self] in openStream() }) {
            // Events posted before now come before the answer (NIO may read a socket before it runs the task that
            // delivers them).
            takeInbox()
            answered(slot, answer)
        }
    }

    private func answered(_ slot: ConnectionStateMachine.Slot, _ answer: Answer) {
        switch answer.session {
        case .attached(let id): scope?.session = id
        case .detached: scope?.session = nil
        case nil: break
        }
        if case .now(let id) = machine.answered(slot, answer) { write(answer, id: id) }
    }

    /// Takes what other threads posted to this connection (see `ConnectionInbox`).
    private func takeInbox() {
        guard let scope else { return }
        for item in scope.inbox.take() {
            switch item {
            case .answered(let slot, let answer): answered(slot, answer)
            case .events(let events): for pushed in events { write(pushed.encoded { $0.line() }) }
            case .close: return close()
            case .drain: machine.drain()
            }
        }
    }

    /// A stream for a dump or snapshot, writing after what this connection wrote so far.
    private func openStream() -> any EventStream {
        flush()
        return LineStream(channel: context!.channel)
    }

    // MARK: Output

    private func write(_ answer: Answer, id: Int64?) {
        for event in answer.eventsBefore { write(event.line()) }
        let line =
            switch answer.outcome {
            case .ok(let zxid, let reply): reply.line(id: id, zxid: zxid, reusing: replyStorage())
            case .failed(let error): error.line(id: id)
            }
        write(line)
        // Kept as the next reply's storage unless it is large (a connection holds no more than 4 KiB for this).
        if line.capacity <= 4096 { spareReply = line }
        for event in answer.eventsAfter { write(event.line()) }
    }

    /// Storage for the next reply: the spare one, taken (so the writer owns it alone).
    private func replyStorage() -> [UInt8] {
        var storage: [UInt8] = []
        swap(&storage, &spareReply)
        return storage
    }

    /// Adds a line to the output; every 64 KiB go to the channel, so its outbound bound (a slow reader is
    /// disconnected) sees them.
    private func write(_ line: [UInt8]) {
        output.writeBytes(line)
        if output.readableBytes >= 64 << 10 { writeOutput() }
    }

    private func writeOutput() {
        guard output.readableBytes > 0, let context else { return }
        let chunk = output
        output.clear()  // before the write: it may re-enter (writability → close → flush)
        context.write(wrapOutboundOut(chunk), promise: nil)
    }

    private func flush() {
        writeOutput()
        context?.flush()
    }

    private func close() {
        guard !closing else { return }
        closing = true
        machine.closed()
        flush()
        context?.close(promise: nil)
    }

    /// Shuts our side down so the replies reach the client even though it is still sending (closing
    /// with unread input would reset the connection and lose them), discards what it sends, and closes
    /// for good when it does or after two seconds.
    private func closeAfterReplies() {
        guard !closing, let context else { return }
        closing = true
        machine.closed()
        flush()
        context.close(mode: .output, promise: nil)
        let channel = context.channel
        context.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
    }
}

@available(*, unavailable)
extension JSONLinesHandler: Sendable {}
