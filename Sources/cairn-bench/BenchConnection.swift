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
}

/// What one connection measured.
struct ConnectionResult: Sendable {
    var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    var operations = 0
    var errors = 0
}

/// One benchmark connection: opens a session, then keeps `outstanding` requests in flight, timing each
/// reply against its request (replies come in request order). Event-loop confined.
final class BenchConnection: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Role: Sendable {
        /// Sends the workload's requests.
        case load(Workload)
        /// Watch workload: holds a persistent watch and times events.
        case watcher
        /// Watch workload: sets the watched node, one at a time.
        case changer
    }

    private struct InFlight {
        var sent: UInt64
        /// For registry cycles: a create (whose reply names the node to delete next) or a delete.
        var isCreate: Bool
    }

    private let role: Role
    private let index: Int
    private let outstanding: Int
    private let keys: Int
    private let readRatio: Double
    private let lines: RequestLines
    private let phase: RunPhase
    private let finished: EventLoopPromise<ConnectionResult>
    private var result = ConnectionResult()
    private var inFlight = CircularBuffer<InFlight>()
    private var buffer = ByteBuffer()
    private var connected = false
    private var sequence = 0
    private var generator = SystemRandomNumberGenerator()
    /// Makes create paths unique across runs against the same server.
    private let runID = String(SystemClock.wallMilliseconds(), radix: 36)

    init(role: Role, index: Int, outstanding: Int, keys: Int, readRatio: Double, lines: RequestLines, phase: RunPhase,
         finished: EventLoopPromise<ConnectionResult>) {
        self.role = role
        self.index = index
        self.outstanding = outstanding
        self.keys = keys
        self.readRatio = readRatio
        self.lines = lines
        self.phase = phase
        self.finished = finished
    }

    func channelActive(context: ChannelHandlerContext) {
        send(RequestLines.connect(timeoutMilliseconds: 30000), context: context, isCreate: false)
        context.flush()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        while let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let line = buffer.readSlice(length: newline - buffer.readerIndex + 1)!
            handle(line, context: context)
        }
        buffer.discardReadBytes()
        context.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        finished.succeed(result)
    }

    private func handle(_ line: ByteBuffer, context: ChannelHandlerContext) {
        let bytes = line.readableBytesView
        let now = SystemClock.monotonicNanoseconds()
        if bytes.starts(with: #"{"event""#.utf8) {
            let sent = phase.lastChangeSent.load(ordering: .relaxed)
            if case .watcher = role, sent > 0, phase.value.load(ordering: .relaxed) == RunPhase.measuring {
                _ = result.histogram.record((now - sent) / 1000)
                result.operations += 1
            }
            return
        }
        guard let request = inFlight.popFirst() else { return }
        let ok = bytes.firstRange(of: #""ok":true"#.utf8) != nil
        if !connected {
            connected = true
            start(context: context)
            return
        }
        let current = phase.value.load(ordering: .relaxed)
        if current == RunPhase.measuring, !isWatcherSetup {
            if ok {
                _ = result.histogram.record((now - request.sent) / 1000)
                result.operations += 1
            } else {
                result.errors += 1
            }
        }
        if current == RunPhase.stopping {
            if inFlight.isEmpty { context.close(promise: nil) }
            return
        }
        next(after: request, reply: line, context: context)
    }

    private var isWatcherSetup: Bool {
        if case .watcher = role { return true }
        return false
    }

    private func start(context: ChannelHandlerContext) {
        switch role {
        case .load:
            for _ in 0..<outstanding { next(after: nil, reply: nil, context: context) }
        case .watcher:
            send(RequestLines.addWatch("/bench/w"), context: context, isCreate: false)
        case .changer:
            next(after: nil, reply: nil, context: context)
        }
    }

    private func next(after previous: InFlight?, reply: ByteBuffer?, context: ChannelHandlerContext) {
        switch role {
        case .watcher: return
        case .changer:
            phase.lastChangeSent.store(SystemClock.monotonicNanoseconds(), ordering: .relaxed)
            send(lines.set("/bench/w"), context: context, isCreate: false)
        case .load(let workload):
            switch workload {
            case .create:
                sequence += 1
                send(lines.create("/bench/c/\(runID)-\(index)-\(sequence)"), context: context, isCreate: true)
            case .set: send(lines.set(randomKey()), context: context, isCreate: false)
            case .get: send(RequestLines.get(randomKey()), context: context, isCreate: false)
            case .exists: send(RequestLines.exists(randomKey()), context: context, isCreate: false)
            case .children: send(RequestLines.children("/bench/dir"), context: context, isCreate: false)
            case .mixed:
                let line = Double.random(in: 0..<1, using: &generator) < readRatio ? RequestLines.get(randomKey()) : lines.set(randomKey())
                send(line, context: context, isCreate: false)
            case .registry:
                if let previous, previous.isCreate, let reply, let path = Self.createdPath(reply) {
                    send(RequestLines.delete(path), context: context, isCreate: false)
                } else {
                    send(lines.create("/bench/svc/i-", ephemeral: true, sequential: true), context: context, isCreate: true)
                }
            case .watch: return
            }
        }
    }

    private func randomKey() -> String { "/bench/k/\(Int.random(in: 0..<keys, using: &generator))" }

    private func send(_ line: String, context: ChannelHandlerContext, isCreate: Bool) {
        inFlight.append(InFlight(sent: SystemClock.monotonicNanoseconds(), isCreate: isCreate))
        context.write(wrapOutboundOut(context.channel.allocator.buffer(string: line)), promise: nil)
    }

    /// The `"path":"…"` of a create reply.
    private static func createdPath(_ reply: ByteBuffer) -> String? {
        let bytes = Array(reply.readableBytesView)
        let key = Array(#""path":""#.utf8)
        guard let start = bytes.firstRange(of: key)?.upperBound, let end = bytes[start...].firstIndex(of: UInt8(ascii: "\"")) else {
            return nil
        }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}

@available(*, unavailable)
extension BenchConnection: Sendable {}
