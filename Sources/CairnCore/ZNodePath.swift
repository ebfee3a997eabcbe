/// A validated znode path, following ZooKeeper's rules: absolute, no empty segment, no `.` or `..`
/// segment, no NUL or control character, no trailing slash except the root itself.
public struct ZNodePath: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The path as given, e.g. `/services/web`.
    public let string: String

    public static let root = ZNodePath(unchecked: "/")

    init(unchecked string: String) { self.string = string }

    /// Validates `string`; throws `CairnError.invalidPath` naming the broken rule.
    public init(_ string: String) throws(CairnError) {
        guard string.utf8.first == UInt8(ascii: "/") else {
            throw .invalidPath(string, reason: "a path must start with '/'")
        }
        if string == "/" {
            self.string = string
            return
        }
        if string.utf8.last == UInt8(ascii: "/") {
            throw .invalidPath(string, reason: "a path must not end with '/'")
        }
        for scalar in string.unicodeScalars {
            let v = scalar.value
            if v == 0 || v < 0x20 || (0x7F...0x9F).contains(v) || (0xD800...0xF8FF).contains(v)
                || (0xFFF0...0xFFFF).contains(v)
            {
                throw .invalidPath(string, reason: "a path must not contain NUL or control characters (U+\(String(v, radix: 16, uppercase: true)))")
            }
        }
        for segment in string.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropFirst() {
            if segment.isEmpty { throw .invalidPath(string, reason: "a path must not contain an empty segment ('//')") }
            if segment.elementsEqual(".".utf8) || segment.elementsEqual("..".utf8) {
                throw .invalidPath(string, reason: "a path must not contain '.' or '..' segments")
            }
        }
        self.string = string
    }

    public var isRoot: Bool { string == "/" }

    /// The segments after the root: `/a/b` → ["a", "b"]; the root has none.
    public var segments: [Substring] {
        isRoot ? [] : string.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
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

    /// Searched in UTF-8 ('/' is one byte there), which is far cheaper than searching Characters.
    private var lastSlash: String.Index? { string.utf8.lastIndex(of: UInt8(ascii: "/")) }

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
