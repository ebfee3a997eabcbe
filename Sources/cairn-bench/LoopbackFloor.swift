import Foundation
import Histogram
import NIOCore

/// The machine's floor for a one-at-a-time request: a 64-byte TCP round trip over loopback to an echo
/// thread with a blocking socket, and nothing else (no server, no JSON, no event loop). A 1 × 1 read cannot
/// be faster than this on the same machine with the same kind of client (`busyPoll` as in `BlockingSocket`).
enum LoopbackFloor {
    static func measure(roundTrips: Int, busyPoll: Bool) throws -> Histogram<UInt64> {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try BlockingSocket.check(listener)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &address) {
            try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                try BlockingSocket.check(bind(listener, $0, length))
                try BlockingSocket.check(listen(listener, 1))
                try BlockingSocket.check(getsockname(listener, $0, &length))
            }
        }
        let echo = Thread {
            guard let peer = try? BlockingSocket(descriptor: accept(listener, nil, nil), busyPoll: false) else {
                return
            }
            var incoming = ByteBuffer()
            while let line = try? peer.readLine(&incoming) {
                guard (try? peer.write(line)) != nil else { return }
            }
        }
        echo.start()
        let client = try BlockingSocket(
            connectingTo: "127.0.0.1", port: Int(UInt16(bigEndian: address.sin_port)), busyPoll: busyPoll)
        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
        var message = ByteBuffer(repeating: UInt8(ascii: "x"), count: 63)
        message.writeInteger(UInt8(ascii: "\n"))
        var incoming = ByteBuffer()
        for _ in 0..<roundTrips {
            let start = DispatchTime.now().uptimeNanoseconds
            try client.write(message)
            guard try client.readLine(&incoming) != nil else { break }
            _ = histogram.record((DispatchTime.now().uptimeNanoseconds - start) / 1000)
        }
        return histogram
    }
}
