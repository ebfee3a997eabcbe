import CairnCore
import CairnProtocol
import NIOCore

/// The JSON-lines wire format (docs/protocol.md): request lines decoded by `RequestDecoder`, replies and events
/// written as lines.
struct JSONLinesFormat: WireFormat {
    static let frontEnd = FrontEnd.jsonLines
    static let eventMemo = PushedEvent.Memo.jsonLines

    /// Splits what the socket delivers into request lines.
    private let lines: NIOSingleStepByteToMessageProcessor<JSONLineDecoder>
    private let decoder: RequestDecoder
    private let maxLineBytes: Int
    /// The last reply line, kept once copied into the output for its capacity: the next reply is written into it (no
    /// allocation per reply).
    private var spareReply: [UInt8] = []

    init(server: CairnServer) {
        maxLineBytes = server.configuration.maxLineBytes
        lines = NIOSingleStepByteToMessageProcessor(JSONLineDecoder(maxLength: maxLineBytes))
        decoder = server.decoder
    }

    mutating func read(_ buffer: ByteBuffer, into decoded: inout [Inbound]) {
        // The decoder throws nothing (an overlong line is a frame), so neither does this.
        try? lines.process(buffer: buffer) { [decoder, maxLineBytes] frame in
            switch frame {
            case .tooLong:
                let error = CairnError.tooLarge(
                    "a request line is longer than \(maxLineBytes) bytes; the connection is closed")
                decoded.append(.request(.init(id: nil, .failure(error), closesConnection: true)))
            case .line(let line):
                // Decoded straight from the connection's buffer: no copy of the line.
                guard let (id, request) = line.withUnsafeReadableBytes(decoder.decode) else { return }
                decoded.append(.request(.init(id: id, request)))
            }
        }
    }

    mutating func write(_ answer: Answer, id: Int64?, into output: inout ByteBuffer) -> Bool {
        var storage: [UInt8] = []
        swap(&storage, &spareReply)
        let line =
            switch answer.outcome {
            case .ok(let zxid, let reply): reply.line(id: id, zxid: zxid, reusing: storage)
            case .failed(let error): error.line(id: id)
            }
        output.writeBytes(line)
        // Kept as the next reply's storage unless it is large (a connection holds no more than 4 KiB for this).
        if line.capacity <= 4096 { spareReply = line }
        return false
    }

    static func encode(_ event: ServerEvent) -> [UInt8] { event.line() }

    static func refusal(_ error: CairnError) -> [UInt8] { ErrorReply(error).line(id: nil) }

    static func stream(on channel: any Channel) -> any EventStream { LineStream(channel: channel) }
}

/// The JSON-lines front end's connections.
typealias JSONLinesHandler = FrontEndHandler<JSONLinesFormat>
