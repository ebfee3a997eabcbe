/// Tests eight bytes at once (SWAR): the quick scans over runs of string bytes in the request scanner and
/// the JSON writer. A test may also flag a byte above one that truly matches (a borrow), never miss one.
enum ByteWords {
    static let ones: UInt64 = 0x0101_0101_0101_0101
    static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// Whether a byte of `word` is zero.
    @inline(__always)
    static func hasZeroByte(_ word: UInt64) -> Bool { (word &- ones) & ~word & highBits != 0 }

    /// Whether a byte of `word` equals `byte`.
    @inline(__always)
    static func has(_ byte: UInt8, in word: UInt64) -> Bool { hasZeroByte(word ^ (ones &* UInt64(byte))) }

    /// Whether a byte of `word` is a control character (below 0x20).
    @inline(__always)
    static func hasControl(_ word: UInt64) -> Bool { (word &- ones &* 0x20) & ~word & highBits != 0 }

    /// Whether a byte of `word` needs escaping inside a JSON string: `"`, `\` or a control character.
    @inline(__always)
    static func needsEscape(_ word: UInt64) -> Bool {
        has(UInt8(ascii: "\""), in: word) || has(UInt8(ascii: "\\"), in: word) || hasControl(word)
    }

    /// Whether every byte is below 0x80 (ASCII, which is valid UTF-8 as it is).
    static func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while bytes.count - offset >= 8 {
            if bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self) & highBits != 0 { return false }
            offset += 8
        }
        return bytes[offset...].allSatisfy { $0 < 0x80 }
    }

    /// The length of the prefix of `bytes` whose whole words need no escaping (its remaining bytes are for
    /// the caller to look at one by one).
    static func plainWordsPrefix(_ bytes: UnsafeRawBufferPointer, from start: Int = 0, stopAtNonASCII: Bool) -> Int {
        var offset = start
        while bytes.count - offset >= 8 {
            let word = bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            if needsEscape(word) || (stopAtNonASCII && word & highBits != 0) { break }
            offset += 8
        }
        return offset
    }
}
