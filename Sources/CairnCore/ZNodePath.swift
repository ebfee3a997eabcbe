/// A validated znode path, following ZooKeeper's rules: absolute, no empty segment, no `.` or `..`
/// segment, no NUL or control character, no trailing slash except the root itself.
public struct ZNodePath: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The path as given, e.g. `/services/web`.
    public let string: String
    /// Where the last segment starts, in UTF-8 bytes (just past the last `/`): `name` and `parent` need no
    /// search (every create and delete asks for both).
    private let nameOffset: Int

    public static let root = ZNodePath(unchecked: "/", nameOffset: 1)

    init(unchecked string: String, nameOffset: Int) {
        self.string = string
        self.nameOffset = nameOffset
    }

    init(unchecked string: String) {
        let utf8 = string.utf8
        let slash =
            utf8.withContiguousStorageIfAvailable { $0.lastIndex(of: UInt8(ascii: "/")) }
            ?? utf8.lastIndex(of: UInt8(ascii: "/")).map { utf8.distance(from: utf8.startIndex, to: $0) }
        self.init(unchecked: string, nameOffset: (slash ?? 0) + 1)
    }

    /// Validates `string`; throws `CairnError.invalidPath` naming the broken rule.
    public init(_ string: String) throws(CairnError) {
        let scan =
            string.utf8.withContiguousStorageIfAvailable(Self.scan)
            ?? Array(string.utf8).withUnsafeBufferPointer(Self.scan)
        if !scan.plainASCII, let bad = string.unicodeScalars.first(where: Self.isForbidden) {
            throw .invalidPath(
                string,
                reason:
                    "a path must not contain NUL or control characters (U+\(String(bad.value, radix: 16, uppercase: true)))"
            )
        }
        if let problem = scan.problem { throw .invalidPath(string, reason: problem) }
        self.init(unchecked: string, nameOffset: scan.lastSlash + 1)
    }

    /// One pass over the bytes, without allocating (every request's path is validated): the first broken
    /// rule other than a forbidden character, whether every byte is printable ASCII, and the last `/`.
    private static func scan(_ bytes: UnsafeBufferPointer<UInt8>) -> (
        problem: String?, plainASCII: Bool, lastSlash: Int
    ) {
        let slash = UInt8(ascii: "/")
        let dot = UInt8(ascii: ".")
        guard bytes.first == slash else { return ("a path must start with '/'", true, 0) }
        if bytes.count == 1 { return (nil, true, 0) }
        var problem: String? = bytes.last == slash ? "a path must not end with '/'" : nil
        var plainASCII = true
        var segmentStart = 1
        var lastSlash = 0
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
                if index < bytes.count { lastSlash = index }
            } else if byte < 0x20 || byte >= 0x7F {
                plainASCII = false
            }
        }
        return (problem, plainASCII, lastSlash)
    }

    public static func == (lhs: ZNodePath, rhs: ZNodePath) -> Bool { lhs.string == rhs.string }
    public func hash(into hasher: inout Hasher) { hasher.combine(string) }

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
        string[string.utf8.index(string.utf8.startIndex, offsetBy: nameOffset)...]
    }

    /// The parent path; nil for the root.
    public var parent: ZNodePath? {
        if isRoot { return nil }
        if nameOffset == 1 { return .root }
        return ZNodePath(
            unchecked: String(string[..<string.utf8.index(string.utf8.startIndex, offsetBy: nameOffset - 1)]))
    }

    /// Whether `child` is one segment below this path (compared in bytes, without making its parent's path).
    public func isParent(of child: ZNodePath) -> Bool {
        let length = isRoot ? 0 : string.utf8.count
        guard child.nameOffset == length + 1, !child.isRoot else { return false }
        return isRoot || child.begins(with: self)
    }

    /// Whether this path's bytes start with all of `other`'s.
    private func begins(with other: ZNodePath) -> Bool {
        let length = other.string.utf8.count
        guard string.utf8.count >= length else { return false }
        // Native strings are contiguous: compare their bytes (the generic `starts(with:)` walks UTF-8 views).
        let compared = string.utf8.withContiguousStorageIfAvailable { bytes in
            other.string.utf8.withContiguousStorageIfAvailable { prefix in
                UnsafeBufferPointer(rebasing: bytes[..<length]).elementsEqual(prefix)
            }
        }
        return (compared ?? nil) ?? string.utf8.starts(with: other.string.utf8)
    }

    /// The path of a child named `name` (which must be a valid segment).
    public func appending(_ name: some StringProtocol) -> ZNodePath {
        isRoot
            ? ZNodePath(unchecked: "/" + name, nameOffset: 1)
            : ZNodePath(unchecked: string + "/" + name, nameOffset: string.utf8.count + 1)
    }

    /// True when `self` is `other` or lies below it.
    public func isDescendant(ofOrEqualTo other: ZNodePath) -> Bool {
        if other.isRoot { return true }
        guard begins(with: other) else { return false }
        let rest = string.utf8.dropFirst(other.string.utf8.count)
        return rest.isEmpty || rest.first == UInt8(ascii: "/")
    }

    public var description: String { string }
    public static func < (lhs: ZNodePath, rhs: ZNodePath) -> Bool {
        lhs.string.utf8.lexicographicallyPrecedes(rhs.string.utf8)
    }
}
