/// Finds a key given twice in one object of a JSON text. `JSONDecoder` silently keeps one of the two, so a
/// request whose meaning depends on which (`"op":"get","op":"create"`) is refused as malformed instead.
public enum RepeatedKeys {
    /// The first key repeated within one object, at any depth, decoded; nil when there is none, or when the
    /// text is not JSON (the decoder then words that error).
    public static func first(in bytes: UnsafeRawBufferPointer) -> String? {
        var walker = Walker(bytes: bytes)
        if case .repeated(let key) = walker.value(depth: 0) { return String(decoding: key, as: UTF8.self) }
        return nil
    }

    private enum Outcome {
        case valid
        case repeated([UInt8])
        case invalid
    }

    private struct Walker {
        /// Deeper nesting is left to the decoder, which refuses it: the walk must not exhaust the stack.
        static let maxDepth = 512
        let bytes: UnsafeRawBufferPointer
        var offset = 0

        mutating func next() -> UInt8? {
            while offset < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[offset]) { offset += 1 }
            return offset < bytes.count ? bytes[offset] : nil
        }

        mutating func consume(_ byte: UInt8) -> Bool {
            guard next() == byte else { return false }
            offset += 1
            return true
        }

        mutating func value(depth: Int) -> Outcome {
            guard depth < Self.maxDepth, let first = next() else { return .invalid }
            switch first {
            case UInt8(ascii: "{"):
                offset += 1
                if consume(UInt8(ascii: "}")) { return .valid }
                var keys: Set<[UInt8]> = []
                repeat {
                    guard let key = string(), consume(UInt8(ascii: ":")) else { return .invalid }
                    guard keys.insert(key).inserted else { return .repeated(key) }
                    let member = value(depth: depth + 1)
                    guard case .valid = member else { return member }
                } while consume(UInt8(ascii: ","))
                return consume(UInt8(ascii: "}")) ? .valid : .invalid
            case UInt8(ascii: "["):
                offset += 1
                if consume(UInt8(ascii: "]")) { return .valid }
                repeat {
                    let element = value(depth: depth + 1)
                    guard case .valid = element else { return element }
                } while consume(UInt8(ascii: ","))
                return consume(UInt8(ascii: "]")) ? .valid : .invalid
            case UInt8(ascii: "\""):
                return string() == nil ? .invalid : .valid
            default:
                // A number or literal: its bytes up to the next delimiter (the decoder checks their form).
                let start = offset
                while offset < bytes.count, !Array(",]} \t\r\n".utf8).contains(bytes[offset]) { offset += 1 }
                return offset > start ? .valid : .invalid
            }
        }

        /// A string's bytes with its escapes decoded (`\u` to UTF-8, surrogate pairs joined); nil when it is
        /// not a well-formed string.
        mutating func string() -> [UInt8]? {
            guard consume(UInt8(ascii: "\"")) else { return nil }
            var decoded: [UInt8] = []
            while offset < bytes.count {
                let byte = bytes[offset]
                offset += 1
                switch byte {
                case UInt8(ascii: "\""): return decoded
                case UInt8(ascii: "\\"):
                    guard offset < bytes.count else { return nil }
                    let escape = bytes[offset]
                    offset += 1
                    switch escape {
                    case UInt8(ascii: "u"):
                        guard let scalar = unicodeEscape() else { return nil }
                        decoded.append(contentsOf: Array(String(Character(scalar)).utf8))
                    case UInt8(ascii: "n"): decoded.append(0x0A)
                    case UInt8(ascii: "t"): decoded.append(0x09)
                    case UInt8(ascii: "r"): decoded.append(0x0D)
                    case UInt8(ascii: "b"): decoded.append(0x08)
                    case UInt8(ascii: "f"): decoded.append(0x0C)
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded.append(escape)
                    default: return nil
                    }
                default: decoded.append(byte)
                }
            }
            return nil
        }

        /// The scalar of a `\u` escape whose `\u` was just read, with its low surrogate when it is a high one.
        mutating func unicodeEscape() -> Unicode.Scalar? {
            guard let unit = hexUnit() else { return nil }
            guard (0xD800..<0xDC00).contains(unit) else { return Unicode.Scalar(unit) }
            guard offset + 1 < bytes.count, bytes[offset] == UInt8(ascii: "\\"), bytes[offset + 1] == UInt8(ascii: "u")
            else { return nil }
            offset += 2
            guard let low = hexUnit(), (0xDC00..<0xE000).contains(low) else { return nil }
            return Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
        }

        mutating func hexUnit() -> UInt32? {
            guard offset + 4 <= bytes.count,
                let unit = UInt32(
                    String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + 4]), as: UTF8.self),
                    radix: 16)
            else { return nil }
            offset += 4
            return unit
        }
    }
}
