import Foundation

/// A blocking JSON-lines client over a loopback TCP socket, for tests: send objects, read lines.
public final class LineClient {
    public typealias Object = [String: Any]

    private let fd: Int32
    private var buffer: [UInt8] = []
    private var nextID = 1
    /// Pushed events read while waiting for replies.
    public private(set) var events: [Object] = []

    public init(port: Int, timeoutSeconds: Int = 20) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else {
            close(fd)
            throw ClientError.io("connect: errno \(errno)")
        }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    public enum ClientError: Error {
        case io(String)
        case closed
        case notJSON(String)
    }

    /// Sends raw bytes (a line, or anything).
    public func sendRaw(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL))
            }
            if n <= 0 { throw ClientError.io("send: errno \(errno)") }
            sent += n
        }
    }

    /// Sends what the socket takes now of `bytes` without waiting; returns how many bytes it took (0 when its
    /// buffer is full: the server is not reading).
    public func sendWithoutWaiting(_ bytes: ArraySlice<UInt8>) throws -> Int {
        let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return 0 }
        if n < 0 { throw ClientError.io("send: errno \(errno)") }
        return n
    }

    /// Sends `object` as one line, with an `id` added when it has none; returns the id.
    @discardableResult
    public func send(_ object: Object) throws -> Int {
        var object = object
        let id = object["id"] as? Int ?? nextID
        nextID = max(nextID, id) + 1
        object["id"] = id
        try sendRaw(Array(try JSONSerialization.data(withJSONObject: object)) + [10])
        return id
    }

    /// The next line, parsed; nil when the server closed the connection.
    public func readLine() throws -> Object? {
        while true {
            if let newline = buffer.firstIndex(of: 10) {
                let line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                guard let object = try JSONSerialization.jsonObject(with: Data(line)) as? Object else {
                    throw ClientError.notJSON(String(decoding: line, as: UTF8.self))
                }
                return object
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return nil }
            if n < 0 { throw ClientError.io("recv: errno \(errno) (timed out?)") }
            buffer.append(contentsOf: chunk[0..<n])
        }
    }

    /// The next reply (a line with an `id` or an error), keeping events read on the way in `events`.
    public func reply() throws -> Object {
        while true {
            guard let line = try readLine() else { throw ClientError.closed }
            if line["event"] != nil { events.append(line) } else { return line }
        }
    }

    /// Sends and waits for the reply.
    @discardableResult
    public func call(_ object: Object) throws -> Object {
        try send(object)
        return try reply()
    }

    /// The next pushed event (from those already read, or the wire).
    public func event() throws -> Object {
        if !events.isEmpty { return events.removeFirst() }
        while true {
            guard let line = try readLine() else { throw ClientError.closed }
            if line["event"] != nil { return line }
        }
    }

    /// Opens a session; returns its id and password.
    @discardableResult
    public func connect(timeoutMilliseconds: Int = 10_000) throws -> (id: String, password: String) {
        let reply = try call(["op": "connect", "timeout_ms": timeoutMilliseconds])
        guard reply["ok"] as? Bool == true, let id = reply["session_id"] as? String,
            let password = reply["password"] as? String
        else { throw ClientError.notJSON("connect failed: \(reply)") }
        return (id, password)
    }

    /// Takes back events already read, so a test can check none arrived.
    public func drainEvents() -> [Object] {
        defer { events = [] }
        return events
    }
}

extension Dictionary where Key == String, Value == Any {
    /// `error.code` of an error reply, or nil for a success.
    public var errorCode: String? { (self["error"] as? [String: Any])?["code"] as? String }
    public var ok: Bool { self["ok"] as? Bool == true }
}
