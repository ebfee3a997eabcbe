import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits the inbound byte stream into lines (`\n`-terminated; a trailing `\r` is dropped). A line longer
/// than `maxLength` becomes `.tooLong` once, and its bytes are discarded up to its newline.
///
/// Single-step: the server runs it inside its connection handler (`NIOSingleStepByteToMessageProcessor`,
/// no pipeline hop per line); the client behind a `ByteToMessageHandler`.
public struct JSONLineDecoder: NIOSingleStepByteToMessageDecoder {
    public enum Frame {
        case line(ByteBuffer)
        case tooLong
    }

    public typealias InboundOut = Frame

    public let maxLength: Int
    private var discarding = false
    /// Bytes at the front of the readable bytes already searched for a newline.
    private var scanned = 0

    public init(maxLength: Int) { self.maxLength = maxLength }

    public mutating func decode(buffer: inout ByteBuffer) throws -> Frame? {
        while true {
            guard let length = newlineOffset(in: buffer) else {
                let count = buffer.readableBytes
                guard discarding || count > maxLength else {
                    scanned = count
                    return nil
                }
                buffer.moveReaderIndex(forwardBy: count)
                scanned = 0
                if discarding { return nil }
                discarding = true
                return .tooLong
            }
            scanned = 0
            if discarding || length > maxLength {
                buffer.moveReaderIndex(forwardBy: length + 1)
                if discarding {
                    discarding = false
                    continue
                }
                return .tooLong
            }
            var line = buffer.readSlice(length: length)!
            buffer.moveReaderIndex(forwardBy: 1)
            if line.readableBytesView.last == UInt8(ascii: "\r") {
                line = line.getSlice(at: line.readerIndex, length: length - 1)!
            }
            return .line(line)
        }
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

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> Frame? {
        // A last line without its newline is incomplete: dropped, as the connection is closing.
        buffer.moveReaderIndex(to: buffer.writerIndex)
        return nil
    }
}
