import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// A TCP socket driven by plain system calls from one thread, with no event loop between it and the clock.
/// Waiting for input either blocks in `read` (the thread sleeps, as in any synchronous client) or, with
/// `busyPoll`, retries a non-blocking `read` without ever sleeping: that takes the client's own wake-up out
/// of a 1 × 1 latency at the price of one busy core.
final class BlockingSocket: Sendable {
    let descriptor: Int32
    let busyPoll: Bool

    /// Takes ownership of a connected socket.
    init(descriptor: Int32, busyPoll: Bool) throws {
        self.descriptor = descriptor
        self.busyPoll = busyPoll
        var one: Int32 = 1
        try Self.check(
            setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size)))
        if busyPoll { try Self.check(fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)) }
    }

    /// Connects to an IPv4 `host` (dotted quad) and `port`.
    convenience init(connectingTo host: String, port: Int, busyPoll: Bool) throws {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            throw BlockingSocketError("a blocking client needs an IPv4 address, not \(host)")
        }
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try Self.check(descriptor)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            let error = BlockingSocketError(errno: errno, doing: "connect to \(host):\(port)")
            close(descriptor)
            throw error
        }
        try self.init(descriptor: descriptor, busyPoll: busyPoll)
    }

    deinit { close(descriptor) }

    /// Writes all of `buffer`'s readable bytes.
    func write(_ buffer: ByteBuffer) throws {
        try buffer.withUnsafeReadableBytes { bytes in
            var done = 0
            while done < bytes.count {
                let n = Glibc.write(descriptor, bytes.baseAddress! + done, bytes.count - done)
                if n < 0, errno == EAGAIN || errno == EINTR { continue }
                guard n > 0 else { throw BlockingSocketError(errno: errno, doing: "write") }
                done += n
            }
        }
    }

    /// The next line (with its newline) from `buffer`, reading more into it as needed; nil at end of stream.
    func readLine(_ buffer: inout ByteBuffer) throws -> ByteBuffer? {
        while true {
            if let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                return buffer.readSlice(length: newline - buffer.readerIndex + 1)
            }
            buffer.discardReadBytes()
            buffer.reserveCapacity(minimumWritableBytes: 16 << 10)
            let n = buffer.withUnsafeMutableWritableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if n > 0 {
                buffer.moveWriterIndex(forwardBy: n)
            } else if n == 0 {
                return nil
            } else if errno != EAGAIN && errno != EINTR {
                throw BlockingSocketError(errno: errno, doing: "read")
            }
        }
    }

    static func check(_ result: Int32) throws {
        if result < 0 { throw BlockingSocketError(errno: errno, doing: "a socket call") }
    }
}

struct BlockingSocketError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) { self.description = description }

    init(errno code: Int32, doing what: String) { description = "\(what) failed: \(String(cString: strerror(code)))" }
}
