import CairnCore
import Histogram
import NIOCore
import Synchronization

/// Shared by every connection of a run: whether replies count yet (after warm-up) and whether to stop.
final class RunPhase: Sendable {
    static let warmingUp = 0, measuring = 1, stopping = 2
    let value = Atomic<Int>(RunPhase.warmingUp)
    /// When the watch workload's writer sent its in-flight set (monotonic ns).
    let lastChangeSent = Atomic<UInt64>(0)
    /// Measured replies (or events) the run still wants: `--count`, or unbounded for a run by duration.
    private let wanted: Atomic<Int>
    /// When the reply that completed a `--count` run arrived (monotonic ns).
    let completedAt = Atomic<UInt64>(0)

    init(count: Int?) { wanted = Atomic(count ?? .max) }

    /// Claims a reply for the measurement: false before the measured part, after it, and once a `--count`
    /// run has all it wanted, so exactly that many are recorded. The last one wanted stops the run.
    func claim() -> Bool {
        guard value.load(ordering: .relaxed) == RunPhase.measuring else { return false }
        let left = wanted.wrappingSubtract(1, ordering: .relaxed).newValue
        if left == 0 {
            completedAt.store(SystemClock.monotonicNanoseconds(), ordering: .relaxed)
            value.store(RunPhase.stopping, ordering: .releasing)  // publishes `completedAt`
        }
        return left >= 0
    }
}

/// What one connection measured.
struct ConnectionResult: Sendable {
    var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    var operations = 0
    var errors = 0

    /// Counts a reply of the measured part of a run: its latency if it succeeded, an error if not.
    mutating func record(ok: Bool, latencyNanoseconds: UInt64) {
        if ok {
            _ = histogram.record(latencyNanoseconds / 1000)
            operations += 1
        } else {
            errors += 1
        }
    }
}

/// One benchmark connection on an event loop: opens a session, then keeps `outstanding` requests in
/// flight, timing each reply against its request (replies come in request order). Event-loop confined.
final class BenchConnection: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Role {
        /// Sends the workload's requests.
        case load(RequestSource)
        /// Watch workload: holds a persistent watch and times events.
        case watcher
        /// Watch workload: sets the watched node, one at a time.
        case changer(RequestLines)
    }

    private struct InFlight {
        var sent: UInt64
        var request: RequestSource.Sent
    }

    private var role: Role
    private let outstanding: Int
    private let phase: RunPhase
    private let finished: EventLoopPromise<ConnectionResult>
    private var result = ConnectionResult()
    private var inFlight = CircularBuffer<InFlight>()
    private var buffer = ByteBuffer()
    /// Requests written since the last flush, sent as one buffer.
    private var outgoing = ByteBuffer()
    private let lines: RequestLines
    /// Replies to the handshake (connect, auth) still to come before the load starts.
    private var handshakeReplies = 0

    init(
        role: Role, lines: RequestLines, outstanding: Int, phase: RunPhase,
        finished: EventLoopPromise<ConnectionResult>
    ) {
        self.role = role
        self.lines = lines
        self.outstanding = outstanding
        self.phase = phase
        self.finished = finished
    }

    func channelActive(context: ChannelHandlerContext) {
        outgoing = context.channel.allocator.buffer(capacity: 64 << 10)
        handshakeReplies = lines.handshake(into: &outgoing)
        flush(context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        while let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let line = buffer.readSlice(length: newline - buffer.readerIndex + 1)!
            handle(line, context: context)
        }
        buffer.discardReadBytes()
        flush(context)
    }

    private func flush(_ context: ChannelHandlerContext) {
        guard outgoing.readableBytes > 0 else { return }
        let chunk = outgoing
        outgoing.clear()
        context.writeAndFlush(wrapOutboundOut(chunk), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finished.succeed(result)
    }

    private func handle(_ line: ByteBuffer, context: ChannelHandlerContext) {
        let now = SystemClock.monotonicNanoseconds()
        let summary = RequestLines.summary(line)
        if summary == .event {
            let sent = phase.lastChangeSent.load(ordering: .relaxed)
            if case .watcher = role, sent > 0, phase.claim() {
                _ = result.histogram.record((now - sent) / 1000)
                result.operations += 1
            }
            return
        }
        if handshakeReplies > 0 {
            handshakeReplies -= 1
            if handshakeReplies == 0 { start(context: context) }
            return
        }
        guard let request = inFlight.popFirst() else { return }
        if case .load = role, phase.claim() {
            result.record(ok: summary == .succeeded, latencyNanoseconds: now - request.sent)
        }
        if phase.value.load(ordering: .relaxed) == RunPhase.stopping {
            if inFlight.isEmpty { context.close(promise: nil) }
            return
        }
        next(after: request.request, reply: line)
    }

    private func start(context: ChannelHandlerContext) {
        switch role {
        case .load:
            for _ in 0..<outstanding { next(after: nil, reply: nil) }
        case .watcher:
            send(.init(isCreate: false)) {
                RequestLines.write(.addWatch(Self.watched, recursive: false, since: nil), into: &$0)
            }
        case .changer:
            next(after: nil, reply: nil)
        }
    }

    private func next(after previous: RequestSource.Sent?, reply: ByteBuffer?) {
        switch role {
        case .watcher: return
        case .changer(let lines):
            phase.lastChangeSent.store(SystemClock.monotonicNanoseconds(), ordering: .relaxed)
            send(.init(isCreate: false)) { lines.set(Self.watched, into: &$0) }
        case .load(var source):
            let sent = SystemClock.monotonicNanoseconds()
            let request = source.next(after: previous, reply: reply, into: &outgoing)
            role = .load(source)
            inFlight.append(InFlight(sent: sent, request: request))
        }
    }

    /// The node the watch workload's changer sets and its watcher watches.
    private static let watched = RequestLines.path("/bench/w")

    /// Writes a request into the outgoing buffer (sent at the next flush) and times it from now.
    private func send(_ request: RequestSource.Sent, _ write: (inout ByteBuffer) -> Void) {
        inFlight.append(InFlight(sent: SystemClock.monotonicNanoseconds(), request: request))
        write(&outgoing)
    }
}

@available(*, unavailable)
extension BenchConnection: Sendable {}
