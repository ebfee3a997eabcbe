import CairnCore
import Histogram
import NIOCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

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
    private let outstanding: Int
    private let keys: Int
    private let readRatio: Double
    private let lines: RequestLines
    private let phase: RunPhase
    private let finished: EventLoopPromise<ConnectionResult>
    private var result = ConnectionResult()
    private var inFlight = CircularBuffer<InFlight>()
    private var buffer = ByteBuffer()
    /// Requests written since the last flush, sent as one buffer.
    private var outgoing = ByteBuffer()
    private var connected = false
    private var sequence = 0
    private var generator: SplitMix64
    /// `/bench/c/<run>-<connection>-`: makes create paths unique across runs against the same server.
    private let createPrefix: [UInt8]

    init(role: Role, index: Int, outstanding: Int, keys: Int, readRatio: Double, lines: RequestLines, phase: RunPhase,
         finished: EventLoopPromise<ConnectionResult>) {
        self.role = role
        self.outstanding = outstanding
        self.keys = keys
        self.readRatio = readRatio
        self.lines = lines
        self.phase = phase
        self.finished = finished
        createPrefix = Array("/bench/c/\(String(SystemClock.wallMilliseconds(), radix: 36))-\(index)-".utf8)
        generator = SplitMix64(seed: UInt64(index) &+ SystemClock.monotonicNanoseconds())
    }

    func channelActive(context: ChannelHandlerContext) {
        outgoing = context.channel.allocator.buffer(capacity: 64 << 10)
        send(isCreate: false) { RequestLines.connect(timeoutMilliseconds: 30000, into: &$0) }
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
        let bytes = line.readableBytesView
        let now = SystemClock.monotonicNanoseconds()
        if bytes.starts(with: Self.eventPrefix) {
            let sent = phase.lastChangeSent.load(ordering: .relaxed)
            if case .watcher = role, sent > 0, phase.value.load(ordering: .relaxed) == RunPhase.measuring {
                _ = result.histogram.record((now - sent) / 1000)
                result.operations += 1
            }
            return
        }
        guard let request = inFlight.popFirst() else { return }
        let ok = Self.offset(of: Self.okTrue, in: line) != nil
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
            send(isCreate: false) { RequestLines.simple("add_watch", .fixed("/bench/w"), into: &$0) }
        case .changer:
            next(after: nil, reply: nil, context: context)
        }
    }

    private func next(after previous: InFlight?, reply: ByteBuffer?, context: ChannelHandlerContext) {
        switch role {
        case .watcher: return
        case .changer:
            phase.lastChangeSent.store(SystemClock.monotonicNanoseconds(), ordering: .relaxed)
            send(isCreate: false) { lines.set(.fixed("/bench/w"), into: &$0) }
        case .load(let workload):
            switch workload {
            case .create:
                sequence += 1
                send(isCreate: true) { [sequence] in lines.create(.numbered(createPrefix, sequence), into: &$0) }
            case .set: send(isCreate: false) { [key = randomKey()] in lines.set(key, into: &$0) }
            case .get: send(isCreate: false) { [key = randomKey()] in RequestLines.simple("get", key, into: &$0) }
            case .exists: send(isCreate: false) { [key = randomKey()] in RequestLines.simple("exists", key, into: &$0) }
            case .children: send(isCreate: false) { RequestLines.simple("children", .fixed("/bench/dir"), into: &$0) }
            case .mixed:
                let read = Double.random(in: 0..<1, using: &generator) < readRatio
                send(isCreate: false) { [key = randomKey()] in
                    if read { RequestLines.simple("get", key, into: &$0) } else { lines.set(key, into: &$0) }
                }
            case .registry:
                if let previous, previous.isCreate, let reply, let path = Self.createdPath(reply) {
                    send(isCreate: false) { RequestLines.simple("delete", .bytes(path), into: &$0) }
                } else {
                    send(isCreate: true) { lines.create(.fixed("/bench/svc/i-"), ephemeral: true, sequential: true, into: &$0) }
                }
            case .watch: return
            }
        }
    }

    private func randomKey() -> RequestLines.Path { .numbered(Self.keyPrefix, Int(generator.next() % UInt64(keys))) }

    /// Writes a request into the outgoing buffer (sent at the next flush) and times it from now.
    private func send(isCreate: Bool, _ write: (inout ByteBuffer) -> Void) {
        inFlight.append(InFlight(sent: SystemClock.monotonicNanoseconds(), isCreate: isCreate))
        write(&outgoing)
    }

    private static let keyPrefix = Array("/bench/k/".utf8)
    private static let eventPrefix = Array(#"{"event""#.utf8)
    private static let okTrue = Array(#""ok":true"#.utf8)
    private static let pathKey = Array(#""path":""#.utf8)

    /// Where `needle` starts in `line`'s readable bytes (memchr + memcmp: no generic collection search per reply).
    private static func offset(of needle: [UInt8], in line: ByteBuffer) -> Int? {
        line.withUnsafeReadableBytes { haystack in
            needle.withUnsafeBytes { needle in
                guard let base = haystack.baseAddress, let first = needle.first else { return nil }
                var from = 0
                while from + needle.count <= haystack.count {
                    guard let hit = memchr(base + from, Int32(first), haystack.count - needle.count - from + 1) else { return nil }
                    let at = base.distance(to: UnsafeRawPointer(hit))
                    if memcmp(base + at, needle.baseAddress!, needle.count) == 0 { return at }
                    from = at + 1
                }
                return nil
            }
        }
    }

    /// The `"path":"…"` of a create reply.
    private static func createdPath(_ reply: ByteBuffer) -> ByteBufferView? {
        guard let key = offset(of: pathKey, in: reply) else { return nil }
        let view = reply.readableBytesView
        let start = view.startIndex + key + pathKey.count
        guard let end = view[start...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
        return view[start..<end]
    }
}

@available(*, unavailable)
extension BenchConnection: Sendable {}
