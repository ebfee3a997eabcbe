import Foundation
import Synchronization

/// A TCP proxy on a loopback port in front of a JSON-lines server, for tests of the worst moment for a connection
/// to drop: once armed, it closes both sides of the connection instead of passing on the first reply line that
/// `drops` picks — the server has applied the request, the client never hears of it. Every other line, and every
/// connection after, passes unchanged. It can also cut the client off altogether (`partition()`).
public final class DroppingProxy: Sendable {
    public let port: Int
    private let listener: Int32
    private let target: Int
    private let drops: @Sendable (String) -> Bool
    private let state = Mutex<(armed: Bool, dropped: Int, sockets: [Int32], partitioned: Bool)>((false, 0, [], false))

    public init(to targetPort: Int, dropping drops: @escaping @Sendable (String) -> Bool) throws {
        target = targetPort
        self.drops = drops
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else {
            close(fd)
            throw LineClient.ClientError.io("proxy listen: errno \(errno)")
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [self] in acceptLoop() }.start()
    }

    deinit {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for fd in state.withLock({ $0.sockets }) { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    /// Drops the connection at the next reply `drops` picks (once).
    public func arm() { state.withLock { $0.armed = true } }

    /// Cuts every connection and refuses new ones until `heal()`: a network partition between client and server,
    /// long enough and the server expires the client's session.
    public func partition() {
        let sockets = state.withLock { s in
            s.partitioned = true
            defer { s.sockets = [] }
            return s.sockets
        }
        for fd in sockets { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    /// Lets connections through again.
    public func heal() { state.withLock { $0.partitioned = false } }

    /// How many connections were dropped so far.
    public var dropped: Int { state.withLock { $0.dropped } }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            if state.withLock({ $0.partitioned }) {
                close(client)
                continue
            }
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(port: target)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
            guard connected else {
                close(client)
                close(server)
                continue
            }
            state.withLock { $0.sockets += [client, server] }
            Thread { [self] in pump(from: client, to: server, watching: false) }.start()
            Thread { [self] in pump(from: server, to: client, watching: true) }.start()
        }
    }

    /// Copies bytes one way until either side closes; from the server, line by line, dropping where armed.
    private func pump(from source: Int32, to sink: Int32, watching: Bool) {
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        defer {
            shutdown(source, Int32(SHUT_RDWR))
            shutdown(sink, Int32(SHUT_RDWR))
        }
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(source, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return }
            guard watching else {
                guard send(all: chunk[..<n], to: sink) else { return }
                continue
            }
            pending += chunk[..<n]
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(pending[...newline])
                pending.removeSubrange(...newline)
                let drop = state.withLock { s in
                    guard s.armed, drops(String(decoding: line, as: UTF8.self)) else { return false }
                    s.armed = false
                    s.dropped += 1
                    return true
                }
                if drop { return }
                guard send(all: line[...], to: sink) else { return }
            }
        }
    }

    private func send(all bytes: ArraySlice<UInt8>, to fd: Int32) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL))
            }
            guard n > 0 else { return false }
            sent += n
        }
        return true
    }
}
