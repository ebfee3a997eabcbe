import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits the inbound byte stream into lines (`\n`-terminated; a trailing `\r` is dropped). A line longer
/// than `maxLength` becomes `.tooLong` once, and its bytes are discarded up to its newline.
public struct JSONLineDecoder: ByteToMessageDecoder {
    public enum Frame {
        case line(ByteBuffer)
        case tooLong
    }

    public typealias InboundOut = Frame

    public let maxLength: Int
    private var discarding = false
    private var scanned = 0

    public init(maxLength: Int) { self.maxLength = maxLength }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        guard let newline = newlineOffset(in: buffer).map({ view.startIndex + $0 }) else {
            scanned = view.count
            if discarding {
                buffer.moveReaderIndex(forwardBy: view.count)
                scanned = 0
            } else if view.count > maxLength {
                discarding = true
                buffer.moveReaderIndex(forwardBy: view.count)
                scanned = 0
                context.fireChannelRead(Self.wrapInboundOut(.tooLong))
            }
            return .needMoreData
        }
        let length = newline - view.startIndex
        scanned = 0
        if discarding {
            discarding = false
            buffer.moveReaderIndex(forwardBy: length + 1)
            return .continue
        }
        if length > maxLength {
            buffer.moveReaderIndex(forwardBy: length + 1)
            context.fireChannelRead(Self.wrapInboundOut(.tooLong))
            return .continue
        }
        var line = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: 1)
        if line.readableBytesView.last == UInt8(ascii: "\r") { line = line.getSlice(at: line.readerIndex, length: length - 1)! }
        context.fireChannelRead(Self.wrapInboundOut(.line(line)))
        return .continue
    }

    /// Where the first newline after the part already scanned is, from the start of the readable bytes (memchr).
    private func newlineOffset(in buffer: ByteBuffer) -> Int? {
        buffer.withUnsafeReadableBytes { bytes in
            guard scanned < bytes.count, let base = bytes.baseAddress,
                let found = memchr(base + scanned, Int32(UInt8(ascii: "\n")), bytes.count - scanned)
            else { return nil }
            return base.distance(to: UnsafeRawPointer(found))
        }
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A last line without its newline is incomplete: dropped, as the connection is closing.
        buffer.moveReaderIndex(to: buffer.writerIndex)
        return .needMoreData
    }
}
