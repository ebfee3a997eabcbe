/// A validated znode path, following ZooKeeper's rules: absolute, no empty segment, no `.` or `..`
/// segment, no NUL or control character, no trailing slash except the root itself.
public struct ZNodePath: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The path as given, e.g. `/services/web`.
    public let string: String

    public static let root = ZNodePath(unchecked: "/")

    init(unchecked string: String) { self.string = string }

    /// Validates `string`; throws `CairnError.invalidPath` naming the broken rule.
    public init(_ string: String) throws(CairnError) {
        let scan = string.utf8.withContiguousStorageIfAvailable(Self.scan) ?? Array(string.utf8).withUnsafeBufferPointer(Self.scan)
        if !scan.plainASCII, let bad = string.unicodeScalars.first(where: Self.isForbidden) {
            throw .invalidPath(string, reason: "a path must not contain NUL or control characters (U+\(String(bad.value, radix: 16, uppercase: true)))")
        }
        if let problem = scan.problem { throw .invalidPath(string, reason: problem) }
        self.string = string
    }

    /// One pass over the bytes, without allocating (every request's path is validated): the first broken
    /// rule other than a forbidden character, and whether every byte is printable ASCII.
    private static func scan(_ bytes: UnsafeBufferPointer<UInt8>) -> (problem: String?, plainASCII: Bool) {
        let slash = UInt8(ascii: "/"), dot = UInt8(ascii: ".")
        guard bytes.first == slash else { return ("a path must start with '/'", true) }
        if bytes.count == 1 { return (nil, true) }
        var problem: String? = bytes.last == slash ? "a path must not end with '/'" : nil
        var plainASCII = true
        var segmentStart = 1
        for index in 1...bytes.count {
            let byte = index < bytes.count ? bytes[index] : slash
            if byte == slash {
                let length = index - segmentStart
                if problem == nil, length == 0 {
                    problem = "a path must not contain an empty segment ('//')"
                } else if problem == nil, length <= 2, bytes[segmentStart] == dot,
                    length == 1 || bytes[segmentStart + 1] == dot
                {
                    problem = "a path must not contain '.' or '..' segments"
                }
                segmentStart = index + 1
            } else if byte < 0x20 || byte >= 0x7F {
                plainASCII = false
            }
        }
        return (problem, plainASCII)
    }

    private static func isForbidden(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        return v < 0x20 || (0x7F...0x9F).contains(v) || (0xD800...0xF8FF).contains(v) || (0xFFF0...0xFFFF).contains(v)
    }

    public var isRoot: Bool { string == "/" }

    /// The segments after the root: `/a/b` → ["a", "b"]; the root has none.
    public var segments: [Substring] {
        var segments: [Substring] = []
        forEachSegment {
            segments.append($0)
            return true
        }
        return segments
    }

    /// Calls `body` with each segment after the root, in order, without building an array (path lookups
    /// walk these); stops early when `body` returns false.
    public func forEachSegment(_ body: (Substring) throws -> Bool) rethrows {
        let utf8 = string.utf8
        var start = utf8.index(after: utf8.startIndex)
        while start < utf8.endIndex {
            let end = utf8[start...].firstIndex(of: UInt8(ascii: "/")) ?? utf8.endIndex
            guard try body(string[start..<end]) else { return }
            start = end == utf8.endIndex ? end : utf8.index(after: end)
        }
    }

    /// The last segment; empty for the root.
    public var name: Substring {
        guard let slash = lastSlash else { return "" }
        return string[string.utf8.index(after: slash)...]
    }

    /// The parent path; nil for the root.
    public var parent: ZNodePath? {
        guard !isRoot, let slash = lastSlash else { return nil }
        return slash == string.startIndex ? .root : ZNodePath(unchecked: String(string[..<slash]))
    }

    /// Searched in the UTF-8 bytes ('/' is one byte there), not through string indices: every create and
    /// delete asks for its node's parent and name.
    private var lastSlash: String.Index? {
        let utf8 = string.utf8
        let found = utf8.withContiguousStorageIfAvailable { $0.lastIndex(of: UInt8(ascii: "/")) }
        guard let offset = found else { return utf8.lastIndex(of: UInt8(ascii: "/")) }
        return offset.map { utf8.index(utf8.startIndex, offsetBy: $0) }
    }

    /// The path of a child named `name` (which must be a valid segment).
    public func appending(_ name: some StringProtocol) -> ZNodePath {
        ZNodePath(unchecked: isRoot ? "/" + name : string + "/" + name)
    }

    /// True when `self` is `other` or lies below it.
    public func isDescendant(ofOrEqualTo other: ZNodePath) -> Bool {
        if other.isRoot || self == other { return true }
        return string.hasPrefix(other.string) && string.utf8.dropFirst(other.string.utf8.count).first == UInt8(ascii: "/")
    }

    public var description: String { string }
    public static func < (lhs: ZNodePath, rhs: ZNodePath) -> Bool { lhs.string.utf8.lexicographicallyPrecedes(rhs.string.utf8) }
}
