import CairnCore

#if canImport(Glibc)
import Glibc
#endif

/// The pieces of a fast JSON reader for the protocol's lines (`RequestScanner`, `DumpFormat.Node.scan`): strings
/// without `\u` escapes, integers, booleans, null, ACL arrays. Each returns nil (or false) for anything it does not
/// read, and the caller then leaves the line to `JSONDecoder`.
struct JSONScanner {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    var atEnd: Bool { offset == bytes.count }

    mutating func skipWhitespace() {
        while offset < bytes.count,
            bytes[offset] == 0x20 || bytes[offset] == 0x09 || bytes[offset] == 0x0A || bytes[offset] == 0x0D
        {
            offset += 1
        }
    }

    mutating func consume(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard offset < bytes.count, bytes[offset] == byte else { return false }
        offset += 1
        return true
    }

    mutating func peek() -> UInt8? {
        skipWhitespace()
        return offset < bytes.count ? bytes[offset] : nil
    }

    /// An ACL: an array of objects with exactly `perms` (an integer), `scheme` and `id` (strings), in any order.
    mutating func aclEntries() -> [WireACLEntry]? {
        guard consume(UInt8(ascii: "[")) else { return nil }
        var entries: [WireACLEntry] = []
        if consume(UInt8(ascii: "]")) { return entries }
        repeat {
            guard consume(UInt8(ascii: "{")) else { return nil }
            var perms: Int64?
            var scheme: String?
            var id: String?
            repeat {
                guard let key = plainString(), consume(UInt8(ascii: ":")) else { return nil }
                let name = UnsafeRawBufferPointer(rebasing: bytes[key])
                if name.elementsEqual("perms".utf8), perms == nil {
                    perms = integer()
                    if perms == nil { return nil }
                } else if name.elementsEqual("scheme".utf8), scheme == nil {
                    scheme = string()
                    if scheme == nil { return nil }
                } else if name.elementsEqual("id".utf8), id == nil {
                    id = string()
                    if id == nil { return nil }
                } else {
                    return nil
                }
            } while consume(UInt8(ascii: ","))
            guard consume(UInt8(ascii: "}")), let perms, let bits = UInt32(exactly: perms), let scheme, let id
            else { return nil }
            entries.append(WireACLEntry(perms: bits, scheme: scheme, id: id))
        } while consume(UInt8(ascii: ","))
        return consume(UInt8(ascii: "]")) ? entries : nil
    }

    /// A value or `null` (which leaves the field absent, as `decodeIfPresent` does).
    mutating func read<T>(_ field: inout T?, _ value: (inout JSONScanner) -> T?) -> Bool {
        if null() {
            field = nil
            return true
        }
        guard let value = value(&self) else { return false }
        field = value
        return true
    }

    mutating func null() -> Bool { literal("null") }

    mutating func boolean() -> Bool? {
        if literal("true") { return true }
        if literal("false") { return false }
        return nil
    }

    mutating func literal(_ word: StaticString) -> Bool {
        skipWhitespace()
        let count = word.utf8CodeUnitCount
        guard bytes.count - offset >= count else { return false }
        for i in 0..<count where bytes[offset + i] != word.utf8Start[i] { return false }
        offset += count
        return true
    }

    /// `-?[0-9]+` only (no fraction or exponent), within Int64.
    mutating func integer() -> Int64? {
        skipWhitespace()
        var negative = false
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "-") {
            negative = true
            offset += 1
        }
        var value: Int64 = 0
        let start = offset
        while offset < bytes.count, bytes[offset] >= 0x30, bytes[offset] <= 0x39 {
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (plus, o2) = times.addingReportingOverflow(Int64(bytes[offset] - 0x30))
            guard !o1, !o2 else { return nil }
            value = plus
            offset += 1
        }
        guard offset > start else { return nil }
        if offset < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[offset]) {
            return nil
        }
        return negative ? -value : value
    }

    /// A string with no `\u` escape, as valid UTF-8.
    mutating func string() -> String? {
        switch scanString() {
        case .plain(let range, let ascii):
            let raw = UnsafeRawBufferPointer(rebasing: bytes[range]).assumingMemoryBound(to: UInt8.self)
            // ASCII is valid UTF-8 as it is; anything else is validated.
            return ascii ? String(decoding: raw, as: UTF8.self) : String(validating: raw, as: UTF8.self)
        case .decoded(let decoded): return String(validating: decoded, as: UTF8.self)
        case nil: return nil
        }
    }

    /// A string's bytes, with no `\u` escape, valid UTF-8: a request's data is kept as bytes, never a `String`.
    mutating func stringBytes() -> [UInt8]? {
        switch scanString() {
        case .plain(let range, let ascii):
            let raw = UnsafeRawBufferPointer(rebasing: bytes[range])
            guard ascii || String(validating: raw.assumingMemoryBound(to: UInt8.self), as: UTF8.self) != nil else {
                return nil
            }
            return Array(raw)
        case .decoded(let decoded): return String(validating: decoded, as: UTF8.self) == nil ? nil : decoded
        case nil: return nil
        }
    }

    /// A string with no escape at all: the range of its bytes (UTF-8 unchecked). Member names are read so.
    mutating func plainString() -> Range<Int>? {
        guard case .plain(let range, _) = scanString() else { return nil }
        return range
    }

    enum ScannedString {
        /// No escape: the bytes between the quotes, and whether they are all ASCII.
        case plain(Range<Int>, ascii: Bool)
        /// With escapes (other than `\u`), decoded; UTF-8 unchecked.
        case decoded([UInt8])
    }

    mutating func scanString() -> ScannedString? {
        guard consume(UInt8(ascii: "\"")) else { return nil }
        let start = offset
        // The common case: no escape, so the string is the bytes up to the closing quote.
        skipPlainASCII()
        var ascii = true
        while offset < bytes.count, bytes[offset] != UInt8(ascii: "\""), bytes[offset] != UInt8(ascii: "\\"),
            bytes[offset] >= 0x20
        {
            ascii = ascii && bytes[offset] < 0x80
            offset += 1
        }
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") {
            offset += 1
            return .plain(start..<offset - 1, ascii: ascii)
        }
        // An escape (or a control character, which is refused): decode the rest byte by byte.
        var decoded = Array(bytes[start..<offset])
        while offset < bytes.count {
            let byte = bytes[offset]
            if byte == UInt8(ascii: "\"") {
                offset += 1
                return .decoded(decoded)
            }
            if byte < 0x20 { return nil }
            if byte == UInt8(ascii: "\\") {
                guard offset + 1 < bytes.count else { return nil }
                let escaped: UInt8
                switch bytes[offset + 1] {
                case UInt8(ascii: "\""): escaped = UInt8(ascii: "\"")
                case UInt8(ascii: "\\"): escaped = UInt8(ascii: "\\")
                case UInt8(ascii: "/"): escaped = UInt8(ascii: "/")
                case UInt8(ascii: "n"): escaped = 0x0A
                case UInt8(ascii: "t"): escaped = 0x09
                case UInt8(ascii: "r"): escaped = 0x0D
                case UInt8(ascii: "b"): escaped = 0x08
                case UInt8(ascii: "f"): escaped = 0x0C
                default: return nil
                }
                decoded.append(escaped)
                offset += 2
                continue
            }
            decoded.append(byte)
            offset += 1
        }
        return nil
    }

    /// Skips whole 8-byte words of printable ASCII other than `"` and `\\` (a string's plain run); the byte
    /// loop after it finds where the run ends.
    mutating func skipPlainASCII() {
        offset = ByteWords.plainWordsPrefix(bytes, from: offset, stopAtNonASCII: true)
    }
}

extension JSONScanner {
    /// A stat object as `JSONWriter.stat` writes it, every field there (in any order; its own is read fastest).
    mutating func stat() -> Stat? {
        guard consume(UInt8(ascii: "{")) else { return nil }
        var fields = StatFields()
        var expected = 0
        var owner: String??
        repeat {
            guard let key = plainString(), consume(UInt8(ascii: ":")) else { return nil }
            let name = UnsafeRawBufferPointer(rebasing: bytes[key])
            if name.equals("ephemeral_owner") {
                owner = null() ? .some(nil) : string().map { .some($0) }
                guard owner != nil else { return nil }
                continue
            }
            // The fields come in `JSONWriter.stat`'s order: the expected one is tried first.
            let index =
                expected < StatFields.names.count && name.equals(StatFields.names[expected])
                ? expected : StatFields.names.firstIndex { name.equals($0) }
            guard let index, let value = integer(), fields.set(index, value) else { return nil }
            expected = index + 1
        } while consume(UInt8(ascii: ","))
        guard consume(UInt8(ascii: "}")), let owner else { return nil }
        return fields.stat(owner: owner.flatMap(SessionID.init(hex:)))
    }
}

/// A stat's integer fields as `JSONScanner.stat` reads them, each once.
private struct StatFields {
    static let names: [StaticString] = [
        "czxid", "mzxid", "pzxid", "ctime", "mtime", "version", "cversion", "aversion", "data_length", "num_children",
    ]
    /// The ten values in `names`' order, in place (a stat read allocates nothing).
    private var values: (Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    private var seen: UInt16 = 0

    /// Stores field `index`; false when it came before.
    mutating func set(_ index: Int, _ value: Int64) -> Bool {
        guard seen & (1 << index) == 0 else { return false }
        seen |= 1 << index
        withUnsafeMutableBytes(of: &values) { $0.storeBytes(of: value, toByteOffset: index * 8, as: Int64.self) }
        return true
    }

    /// The stat, when every field came and each fits its type.
    func stat(owner: SessionID?) -> Stat? {
        let v = values
        guard seen == (1 << Self.names.count) - 1, let czxid = UInt64(exactly: v.0), let mzxid = UInt64(exactly: v.1),
            let pzxid = UInt64(exactly: v.2), let version = Int32(exactly: v.5), let cversion = Int32(exactly: v.6),
            let aversion = Int32(exactly: v.7), let dataLength = Int32(exactly: v.8),
            let numChildren = Int32(exactly: v.9)
        else { return nil }
        return Stat(
            czxid: czxid, mzxid: mzxid, pzxid: pzxid, ctime: v.3, mtime: v.4, version: version, cversion: cversion,
            aversion: aversion, ephemeralOwner: owner, dataLength: dataLength, numChildren: numChildren)
    }
}

extension UnsafeRawBufferPointer {
    /// Whether these are `name`'s bytes.
    func equals(_ name: StaticString) -> Bool {
        count == name.utf8CodeUnitCount && memcmp(baseAddress!, name.utf8Start, count) == 0
    }
}
