import CairnTesting
import Foundation
import Synchronization
import Testing

/// A client that pipelines without bound waits in TCP, not in the server's memory.
@Suite("Backpressure: a connection with too many requests in flight is not read")
struct BackpressureTests {
    let directory = TemporaryDirectory("cairn-backpressure")

    /// Each get must wait for the create before it (a read sees the writes sent ahead of it), so the pairs are
    /// answered one fsync at a time, far slower than they arrive.
    @Test(
        "100,000 pipelined requests (1 KiB creates, each followed by a get), never read: the server stops reading, its heap stays bounded, other clients are served"
    )
    func pipeliningWithoutReading() throws {
        let server = try ServerProcess(dataDirectory: directory.appending("data"))
        // Handed to the sending thread, and used by it alone from then on.
        nonisolated(unsafe) let flood = try server.client()
        try flood.connect()
        let other = try server.client()
        try other.connect()
        let before = try ConnectionLifecycleTests.anonymousKilobytes(server.pid)
        let data = String(repeating: "x", count: 1000)
        var lines: [UInt8] = []
        for k in 0..<50_000 {
            lines += Array(#"{"id":\#(2 * k + 10),"op":"create","path":"/f\#(k)","data":"\#(data)"}"#.utf8) + [10]
            lines += Array(#"{"id":\#(2 * k + 11),"op":"get","path":"/f\#(k)"}"#.utf8) + [10]
        }

        // One thread sends as fast as the server takes it, for 3 s; this one watches the server and asks it things.
        let sent = Mutex(0)
        let stop = Date().addingTimeInterval(3)
        let sender = Thread { [lines] in
            var offset = 0
            while offset < lines.count, Date() < stop, let n = try? flood.sendWithoutWaiting(lines[offset...]) {
                offset += n
                sent.withLock { $0 = offset }
                if n == 0 { usleep(500) }
            }
        }
        sender.start()
        var peak = before
        var slowest: TimeInterval = 0
        while Date() < stop {
            peak = max(peak, try ConnectionLifecycleTests.anonymousKilobytes(server.pid))
            let start = Date()
            #expect(try other.call(["op": "get", "path": "/"]).ok)
            slowest = max(slowest, Date().timeIntervalSince(start))
            usleep(5000)
        }
        let sentBytes = sent.withLock { $0 }
        // Read ahead without bound, all 55 MB were taken at once and sat in the server.
        #expect(sentBytes < lines.count / 2, "the server took \(sentBytes) of \(lines.count) bytes")
        #expect(peak - before < 32 << 10, "the heap grew from \(before) kB to \(peak) kB")
        #expect(slowest < 1, "another client waited \(slowest) s for an answer")
        #expect(try other.call(["op": "create", "path": "/other"]).ok)
    }
}
