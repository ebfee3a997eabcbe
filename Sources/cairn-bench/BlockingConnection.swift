import CairnCore
import Foundation
import NIOCore

/// One load connection on a thread of its own with a `BlockingSocket`: one request at a time, written,
/// then its reply read, as a synchronous client does. Used for 1 × 1 latency, where an event loop's own
/// wake-ups would be part of what is measured.
enum BlockingConnection {
    /// Runs until `phase` says stop; returns what was measured.
    static func run(
        host: String, port: Int, busyPoll: Bool, source: RequestSource, phase: RunPhase
    ) async throws -> ConnectionResult {
        let socket = try BlockingSocket(connectingTo: host, port: port, busyPoll: busyPoll)
        return try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try loop(socket, source: source, phase: phase) })
            }
            thread.start()
        }
    }

    private static let closed = BlockingSocketError("the server closed the connection")

    private static func loop(_ socket: BlockingSocket, source: RequestSource, phase: RunPhase) throws
        -> ConnectionResult
    {
        var source = source
        var result = ConnectionResult()
        var outgoing = ByteBuffer()
        var incoming = ByteBuffer()
        let replies = source.lines.handshake(into: &outgoing)
        try socket.write(outgoing)
        for _ in 0..<replies { guard try socket.readLine(&incoming) != nil else { throw closed } }
        outgoing.clear()
        var request = source.next(after: nil, reply: nil, into: &outgoing)
        while true {
            let current = phase.value.load(ordering: .relaxed)
            if current == RunPhase.stopping { return result }
            let sent = SystemClock.monotonicNanoseconds()
            try socket.write(outgoing)
            guard let reply = try socket.readLine(&incoming) else { throw closed }
            if current == RunPhase.measuring, phase.claim() {
                result.record(
                    ok: RequestLines.summary(reply) == .succeeded,
                    latencyNanoseconds: SystemClock.monotonicNanoseconds() - sent)
            }
            outgoing.clear()
            request = source.next(after: request, reply: reply, into: &outgoing)
        }
    }
}
