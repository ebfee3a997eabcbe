import NIOCore

/// Request lines written straight into a connection's outgoing buffer: the generator copies bytes and
/// formats an integer per request, no JSON objects and no intermediate strings, so it costs little next to
/// the server it measures.
struct RequestLines: Sendable {
    private let data: [UInt8]

    init(dataSize: Int) { data = Array(repeating: UInt8(ascii: "x"), count: dataSize) }

    static func connect(timeoutMilliseconds: Int, into out: inout ByteBuffer) {
        out.writeString(#"{"id":0,"op":"connect","timeout_ms":\#(timeoutMilliseconds)}"# + "\n")
    }

    func create(_ path: Path, ephemeral: Bool = false, sequential: Bool = false, into out: inout ByteBuffer) {
        out.writeStaticString(#"{"id":1,"op":"create","path":""#)
        path.write(into: &out)
        out.writeStaticString(#"","data":""#)
        out.writeBytes(data)
        out.writeStaticString(ephemeral ? #"","ephemeral":true"# : "\"")
        if sequential { out.writeStaticString(#","sequential":true"#) }
        out.writeStaticString("}\n")
    }

    func set(_ path: Path, into out: inout ByteBuffer) {
        out.writeStaticString(#"{"id":1,"op":"set","path":""#)
        path.write(into: &out)
        out.writeStaticString(#"","data":""#)
        out.writeBytes(data)
        out.writeStaticString("\"}\n")
    }

    /// A request with only an op and a path (get, exists, children, delete, add_watch).
    static func simple(_ op: StaticString, _ path: Path, into out: inout ByteBuffer) {
        out.writeStaticString(#"{"id":1,"op":""#)
        out.writeStaticString(op)
        out.writeStaticString(#"","path":""#)
        path.write(into: &out)
        out.writeStaticString("\"}\n")
    }

    /// A fixed path, a prefix and a number (`/bench/k/` + 42), or a path taken from a reply.
    enum Path {
        case fixed(StaticString)
        case numbered([UInt8], Int)
        case bytes(ByteBufferView)

        func write(into out: inout ByteBuffer) {
            switch self {
            case .fixed(let prefix): out.writeStaticString(prefix)
            case .numbered(let prefix, let number):
                out.writeBytes(prefix)
                Self.writeDecimal(number, into: &out)
            case .bytes(let bytes): out.writeBytes(bytes)
            }
        }

        private static func writeDecimal(_ value: Int, into out: inout ByteBuffer) {
            var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for any Int's digits
            withUnsafeMutableBytes(of: &digits) { buffer in
                var n = value.magnitude
                var i = buffer.count
                repeat {
                    i -= 1
                    buffer[i] = UInt8(ascii: "0") + UInt8(n % 10)
                    n /= 10
                } while n > 0
                out.writeBytes(UnsafeRawBufferPointer(rebasing: buffer[i...]))
            }
        }
    }
}
