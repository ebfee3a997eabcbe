import CairnCore
import CairnProtocol
import Logging
import NIOCore
import NIOSSL
import NIOTLS

/// One connection of a front end, whatever its wire format: it registers the connection with the core, hands what
/// arrives to its `Format` to decode, runs the requests through `ConnectionStateMachine` (the order of requests and
/// replies) and `RequestExecutor` (what they do), and writes what the format encodes of answers and events, batching
/// its output. Event-loop confined.
final class FrontEndHandler<Format: WireFormat>: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let server: CairnServer
    private var format: Format
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
    /// What the format decoded of the last read, kept for its capacity.
    private var decoded: [Inbound] = []
    /// When each request waiting for its answer was read (monotonic ns), and its op: answers are written in request
    /// order, so the first is the next answer's (`ConnectionStatistics`).
    private var started = CircularBuffer<(at: UInt64, operation: OperationName)>()
    /// The requests themselves, in the same order, only while slow requests are logged: holding each one until its
    /// answer shares its reference counts with the writer thread, which costs (docs/operations.md).
    private var startedRequests = CircularBuffer<ClientRequest?>()
    /// Answers later than this are logged (0: never).
    private let slowNanoseconds: UInt64
    /// This connection's event loop's request figures, set once the handler is added.
    private var tally: RequestTally?

    init(server: CairnServer) {
        self.server = server
        format = Format(server: server)
        machine = ConnectionStateMachine(maxInFlight: server.configuration.maxRequestsInFlight)
        slowNanoseconds = UInt64(max(server.configuration.slowRequestMilliseconds, 0)) * 1_000_000
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        output = context.channel.allocator.buffer(capacity: 4096)
        tally = server.metrics.tally(for: context.eventLoop)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        scope = nil  // an answer still in flight must not keep the channel alive
    }

    func channelActive(context: ChannelHandlerContext) {
        let limit = server.configuration.maxConnections
        guard
            let handle = server.connections.add(
                context.channel, of: Format.frontEnd, identity: peerIdentity(context), limit: limit)
        else {
            server.logger.warning(
                "connection refused: limit reached",
                metadata: ["connection.peer": "\(context.remoteAddress.map { "\($0)" } ?? "?")"])
            output.writeBytes(Format.refusal(.unavailable("the server has \(limit) connections, its limit")))
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
            server.metrics.disconnectedSlowClient()
            close()
        }
        context.fireChannelWritabilityChanged()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        // Decoded first, then run: running writes answers through the format, which must not be mid-read.
        format.read(unwrapInboundIn(data), into: &decoded)
        defer { decoded.removeAll(keepingCapacity: true) }
        // The requests of one read were received together.
        let receivedAt = SystemClock.monotonicNanoseconds()
        for inbound in decoded where !closing {
            switch inbound {
            case .request(let received):
                scope?.statistics.requestReceived()
                if case .success(let request) = received.request {
                    started.append((receivedAt, OperationName(request)))
                    if slowNanoseconds > 0 { startedRequests.append(request) }
                } else {
                    started.append((receivedAt, .none))
                    if slowNanoseconds > 0 { startedRequests.append(nil) }
                }
                if case .success(let runnable) = received.request, !received.closesConnection,
                    let slot = machine.startNow(id: received.id, isChange: runnable.isChange)
                {
                    execute(runnable, in: slot)
                } else {
                    machine.received(received)
                }
            case .bytes(let bytes):
                write(bytes)
            case .close:
                close()
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
            case .events(let events):
                for pushed in events { write(pushed.encoded(Format.eventMemo, by: Format.encode)) }
                scope.statistics.pushed(events.count)
            case .close: return close()
            case .drain: machine.drain()
            }
        }
    }

    /// A stream for a dump or snapshot, writing after what this connection wrote so far.
    private func openStream() -> any EventStream {
        flush()
        return Format.stream(on: context!.channel)
    }

    // MARK: Output

    private func write(_ answer: Answer, id: Int64?) {
        for event in answer.eventsBefore { write(Format.encode(event)) }
        let closes = format.write(answer, id: id, into: &output)
        if output.readableBytes >= 64 << 10 { writeOutput() }
        for event in answer.eventsAfter { write(Format.encode(event)) }
        count(answer)
        if closes { close() }
    }

    /// The answer in the connection's figures (`ConnectionStatistics`) and the server's metrics.
    private func count(_ answer: Answer) {
        guard let statistics = scope?.statistics, let request = started.popFirst() else { return }
        let now = SystemClock.monotonicNanoseconds()
        var zxid: Zxid?
        var error: ErrorCode?
        switch answer.outcome {
        case .ok(let at, let reply):
            zxid = at
            if case .connected(let session, _, let timeout) = reply {
                statistics.attached(session, timeoutMilliseconds: timeout)
            }
        case .failed(let failure):
            error = failure.code
            server.metrics.failed(failure.code)
        }
        let latency = now - request.at
        tally?.record(request.operation, frontEnd: Format.frontEnd, nanoseconds: latency)
        if slowNanoseconds > 0, let slow = startedRequests.popFirst(), latency > slowNanoseconds {
            logSlow(slow, latency, error)
        }
        if case .detached = answer.session { statistics.attached(nil, timeoutMilliseconds: 0) }
        let events = answer.eventsBefore.count + answer.eventsAfter.count
        if events > 0 { statistics.pushed(events) }
        statistics.answered(
            request.operation, zxid: zxid, latency: latency / 1_000_000, at: Int64(now / 1_000_000))
    }

    private func logSlow(_ request: ClientRequest?, _ nanoseconds: UInt64, _ error: ErrorCode?) {
        var metadata: Logger.Metadata = [
            "op": "\(request.map { OperationName($0).metricLabel } ?? "?")",
            "duration.ms": "\(nanoseconds / 1_000_000)", "frontend": "\(Format.frontEnd.label)",
            "connection.peer": "\(scope?.statistics.peer ?? "?")",
        ]
        if let path = request?.subject { metadata["path"] = "\(path)" }
        if let session = scope?.session { metadata["session"] = "\(session.hex)" }
        if let error { metadata["error"] = "\(error.rawValue)" }
        server.logger.warning("slow request", metadata: metadata)
    }

    /// Adds bytes to the output; every 64 KiB go to the channel, so its outbound bound (a slow reader is
    /// disconnected) sees them.
    private func write(_ bytes: [UInt8]) {
        output.writeBytes(bytes)
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
extension FrontEndHandler: Sendable {}
