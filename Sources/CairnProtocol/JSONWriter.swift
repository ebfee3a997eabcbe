import CairnCore

/// Writes one JSON object as bytes, by hand: replies and events are the hottest messages, and their shape
/// is fixed. Keys are literals written as they are (plain ASCII); string values are escaped.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    /// Bit `depth` says whether the open object or array at that depth needs a comma before its next member
    /// (a bit stack, so a writer allocates nothing but its bytes). Depth 0 is outside any object.
    private var needsComma: UInt64 = 0
    private var depth = 0

    public init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    /// A writer over `storage` emptied, its capacity kept: one who writes many lines can reuse one allocation
    /// (pass a line back once it has been copied out).
    public init(reusing storage: consuming [UInt8]) {
        bytes = storage
        bytes.removeAll(keepingCapacity: true)
        bytes.reserveCapacity(256)
    }

    public mutating func beginObject() {
        bytes.append(UInt8(ascii: "{"))
        open()
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        depth -= 1
    }

    public mutating func beginArray(_ key: StaticString) {
        self.key(key)
        bytes.append(UInt8(ascii: "["))
        open()
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        depth -= 1
    }

    private mutating func open() {
        depth += 1
        precondition(depth < 64, "JSONWriter nests at most 63 levels")
        needsComma &= ~(1 << depth)
    }

    /// Starts an object as the next element of the current array.
    public mutating func beginElementObject() {
        separate()
        beginObject()
    }

    public mutating func beginObject(_ key: StaticString) {
        self.key(key)
        beginObject()
    }

    public mutating func string(_ key: StaticString, _ value: String) {
        self.key(key)
        appendString(value)
    }

    public mutating func element(_ value: String) {
        separate()
        appendString(value)
    }

    public mutating func int(_ key: StaticString, _ value: Int64) {
        member(key, valueBytes: 20) { $0.number(value) }
    }

    public mutating func int(_ key: StaticString, _ value: UInt64) {
        member(key, valueBytes: 20) { $0.digits(value) }
    }

    public mutating func int(_ key: StaticString, _ value: Int) { int(key, Int64(value)) }
    public mutating func int(_ key: StaticString, _ value: Int32) { int(key, Int64(value)) }
    public mutating func int(_ key: StaticString, _ value: UInt32) { int(key, UInt64(value)) }

    public mutating func bool(_ key: StaticString, _ value: Bool) {
        member(key, valueBytes: 5) { $0.literal(value ? "true" : "false") }
    }

    public mutating func null(_ key: StaticString) {
        member(key, valueBytes: 4) { $0.literal("null") }
    }

    /// A member of the open object: its comma when one is due, `"key":`, and a value of at most
    /// `valueBytes` bytes written by `value` — all as one append into the bytes' spare capacity.
    mutating func member(_ key: StaticString, valueBytes: Int, _ value: (inout BoundedOutput) -> Void) {
        let comma = needsComma & (1 << depth) != 0
        needsComma |= 1 << depth
        bytes.append(addingCapacity: key.utf8CodeUnitCount + 4 + valueBytes) { span in
            span.withUnsafeMutableBufferPointer { buffer, initialized in
                var out = BoundedOutput(UnsafeMutableBufferPointer(rebasing: buffer[initialized...]))
                if comma { out.byte(UInt8(ascii: ",")) }
                out.key(key)
                value(&out)
                initialized += out.count
            }
        }
    }

    /// The finished line: the object followed by `\n` (the writer's bytes, not a copy).
    public consuming func line() -> [UInt8] {
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    private mutating func separate() {
        if needsComma & (1 << depth) != 0 { bytes.append(UInt8(ascii: ",")) }
        needsComma |= 1 << depth
    }

    mutating func key(_ key: StaticString) {
        member(key, valueBytes: 0) { _ in }
    }

    private mutating func appendString(_ value: String) {
        var value = value
        value.withUTF8 { appendQuoted(UnsafeRawBufferPointer($0)) }
    }

    /// Appends UTF-8 text as a JSON string. Runs needing no escape (nearly always all of it) are copied
    /// whole.
    mutating func appendQuoted(_ utf8: UnsafeRawBufferPointer) {
        bytes.append(UInt8(ascii: "\""))
        var plain = ByteWords.plainWordsPrefix(utf8, stopAtNonASCII: false)
        while plain < utf8.count, !Self.needsEscape(utf8[plain]) { plain += 1 }
        bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: utf8[..<plain]))
        for byte in utf8[plain...] {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: "\\\"".utf8)
            case UInt8(ascii: "\\"): bytes.append(contentsOf: "\\\\".utf8)
            case UInt8(ascii: "\n"): bytes.append(contentsOf: "\\n".utf8)
            case UInt8(ascii: "\r"): bytes.append(contentsOf: "\\r".utf8)
            case UInt8(ascii: "\t"): bytes.append(contentsOf: "\\t".utf8)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: "\\u00".utf8)
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0xF)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }
}
