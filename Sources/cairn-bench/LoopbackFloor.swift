import Foundation
import Histogram

/// The machine's floor for a one-at-a-time request: a 64-byte TCP round trip over loopback between two
/// threads with blocking sockets and nothing else (no server, no JSON, no event loop). A 1 × 1 read can
/// not be faster than this on the same machine.
enum LoopbackFloor {
    static func measure(roundTrips: Int) throws -> Histogram<UInt64> {
        let listener = try socketOrThrow()
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try check(withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) } })
        try check(listen(listener, 1))
        try check(withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } })
        let echo = Thread {
            let peer = accept(listener, nil, nil)
            noDelay(peer)
            var message = [UInt8](repeating: 0, count: 64)
            while readFully(peer, &message) { _ = message.withUnsafeBytes { write(peer, $0.baseAddress, $0.count) } }
            close(peer)
        }
        echo.start()
        let client = try socketOrThrow()
        try check(withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, length) } })
        noDelay(client)
        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
        var message = [UInt8](repeating: UInt8(ascii: "x"), count: 64)
        for _ in 0..<roundTrips {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = message.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
            guard readFully(client, &message) else { break }
            _ = histogram.record((DispatchTime.now().uptimeNanoseconds - start) / 1000)
        }
        close(client)
        close(listener)
        return histogram
    }

    private static func socketOrThrow() throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try check(fd)
        return fd
    }

    private static func check(_ result: Int32) throws {
        if result < 0 { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    private static func noDelay(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    private static func readFully(_ fd: Int32, _ buffer: inout [UInt8]) -> Bool {
        var got = 0
        while got < buffer.count {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, $0.count - got) }
            if n <= 0 { return false }
            got += n
        }
        return true
    }
}
