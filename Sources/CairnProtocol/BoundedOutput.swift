/// Bytes written into spare capacity sized beforehand for the most they can be — keys, numbers,
/// literals — with one bounds check per piece rather than an array append each. `JSONWriter` writes the
/// fixed-shape parts of a line (a key with its number, a whole stat) through it, as one append.
struct BoundedOutput: ~Copyable {
    private let buffer: UnsafeMutableBufferPointer<UInt8>
    /// Bytes written so far, from the buffer's start.
    private(set) var count = 0

    init(_ buffer: UnsafeMutableBufferPointer<UInt8>) { self.buffer = buffer }

    @inline(__always)
    private func reserve(_ length: Int) -> UnsafeMutablePointer<UInt8> {
        precondition(buffer.count - count >= length, "BoundedOutput: more bytes than reserved")
        return buffer.baseAddress! + count
    }

    @inline(__always)
    mutating func byte(_ byte: UInt8) {
        reserve(1).pointee = byte
        count += 1
    }

    @inline(__always)
    mutating func literal(_ text: StaticString) {
        let length = text.utf8CodeUnitCount
        reserve(length).update(from: text.utf8Start, count: length)
        count += length
    }

    /// `"key":`
    @inline(__always)
    mutating func key(_ key: StaticString) {
        byte(UInt8(ascii: "\""))
        literal(key)
        byte(UInt8(ascii: "\""))
        byte(UInt8(ascii: ":"))
    }

    /// At most 20 bytes. Counted by comparison, written two digits per division (every reply has a dozen
    /// numbers, most of them 13-digit times and zxids).
    mutating func digits(_ value: UInt64) {
        var length = 1
        var power: UInt64 = 10
        while length < 20, value >= power {
            length += 1
            power &*= 10
        }
        let start = reserve(length)
        var rest = value
        var end = length
        while rest >= 100 {
            let pair = Int(rest % 100)
            rest /= 100
            end -= 2
            start[end] = Self.digitPairs[2 * pair]
            start[end + 1] = Self.digitPairs[2 * pair + 1]
        }
        if rest >= 10 {
            start[end - 2] = Self.digitPairs[2 * Int(rest)]
            start[end - 1] = Self.digitPairs[2 * Int(rest) + 1]
        } else {
            start[end - 1] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest)
        }
        count += length
    }

    /// "00", "01", … "99", back to back.
    private static var digitPairs: UnsafePointer<UInt8> {
        ("00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"
            as StaticString).utf8Start
    }

    /// At most 20 bytes.
    mutating func number(_ value: Int64) {
        if value < 0 { byte(UInt8(ascii: "-")) }
        digits(value.magnitude)
    }

    /// Exactly 16 lowercase hex digits.
    mutating func hex(_ value: UInt64) {
        let start = reserve(16)
        for offset in 0..<16 {
            let nibble = UInt8(truncatingIfNeeded: value >> (60 - 4 * offset)) & 0xF
            start[offset] = nibble < 10 ? UInt8(ascii: "0") &+ nibble : UInt8(ascii: "a") &+ nibble &- 10
        }
        count += 16
    }

    /// `,"key":` followed by a number (at most `key`'s length + 24 bytes).
    mutating func field(_ key: StaticString, _ value: Int64) {
        byte(UInt8(ascii: ","))
        self.key(key)
        number(value)
    }

    mutating func field(_ key: StaticString, _ value: UInt64) {
        byte(UInt8(ascii: ","))
        self.key(key)
        digits(value)
    }
}
