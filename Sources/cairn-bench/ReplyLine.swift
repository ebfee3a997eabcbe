import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// What the load generator reads from a reply line without parsing it: whether it is an event, whether it
/// succeeded, and the path a create made (memchr + memcmp, no generic collection search per reply).
enum ReplyLine {
    static func isEvent(_ line: ByteBuffer) -> Bool { line.readableBytesView.starts(with: eventPrefix) }

    static func isSuccess(_ line: ByteBuffer) -> Bool { offset(of: okTrue, in: line) != nil }

    /// The `"path":"…"` of a create reply.
    static func createdPath(_ reply: ByteBuffer) -> ByteBufferView? {
        guard let key = offset(of: pathKey, in: reply) else { return nil }
        let view = reply.readableBytesView
        let start = view.startIndex + key + pathKey.count
        guard let end = view[start...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
        return view[start..<end]
    }

    private static let eventPrefix = Array(#"{"event""#.utf8)
    private static let okTrue = Array(#""ok":true"#.utf8)
    private static let pathKey = Array(#""path":""#.utf8)

    /// Where `needle` starts in `line`'s readable bytes.
    private static func offset(of needle: [UInt8], in line: ByteBuffer) -> Int? {
        line.withUnsafeReadableBytes { haystack in
            needle.withUnsafeBytes { needle in
                guard let base = haystack.baseAddress, let first = needle.first else { return nil }
                var from = 0
                while from + needle.count <= haystack.count {
                    guard let hit = memchr(base + from, Int32(first), haystack.count - needle.count - from + 1) else {
                        return nil
                    }
                    let at = base.distance(to: UnsafeRawPointer(hit))
                    if memcmp(base + at, needle.baseAddress!, needle.count) == 0 { return at }
                    from = at + 1
                }
                return nil
            }
        }
    }
}
