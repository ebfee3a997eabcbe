import NIOCore

/// ZooKeeper's jute binary encoding (`BinaryInputArchive`/`BinaryOutputArchive`): big-endian integers, a boolean as
/// one byte, buffers and strings as a 4-byte length (-1: null) and the bytes, vectors as a 4-byte count (-1: null) and
/// the elements; records are their fields in order, nothing between.
public struct JuteReader {
    private var bytes: ByteBuffer
    /// Longest buffer, string or vector accepted (ZooKeeper's `jute.maxbuffer`).
    private let maxLength: Int

    public init(_ buffer: ByteBuffer, maxLength: Int) {
        self.bytes = buffer
        self.maxLength = maxLength
    }

    /// A record that does not decode: truncated, a negative or oversized length, bytes after its end.
    public struct Malformed: Error, Sendable, Hashable, CustomStringConvertible {
        public var description: String
    }

    public var isAtEnd: Bool { bytes.readableBytes == 0 }

    /// Throws unless every byte was read.
    public func end() throws(Malformed) {
        if bytes.readableBytes > 0 { throw Malformed(description: "\(bytes.readableBytes) bytes after the record") }
    }

    public mutating func int() throws(Malformed) -> Int32 {
        guard let value = bytes.readInteger(endianness: .big, as: Int32.self) else { throw truncated("an int") }
        return value
    }

    public mutating func long() throws(Malformed) -> Int64 {
        guard let value = bytes.readInteger(endianness: .big, as: Int64.self) else { throw truncated("a long") }
        return value
    }

    public mutating func bool() throws(Malformed) -> Bool {
        guard let value = bytes.readInteger(as: UInt8.self) else { throw truncated("a boolean") }
        return value != 0
    }

    /// A count of records that follow without a vector's length (a snapshot's sessions and ACL sets); never negative.
    public mutating func count() throws(Malformed) -> Int {
        let count = try int()
        guard count >= 0 else { throw Malformed(description: "a count of \(count)") }
        return Int(count)
    }

    /// A buffer; nil for jute's null (length -1).
    public mutating func buffer() throws(Malformed) -> [UInt8]? {
        let length = try int()
        if length == -1 { return nil }
        guard length >= 0, Int(length) <= maxLength else { throw Malformed(description: "a length of \(length)") }
        guard let value = bytes.readBytes(length: Int(length)) else { throw truncated("a buffer of \(length) bytes") }
        return value
    }

    /// A UTF-8 string; nil for jute's null.
    public mutating func string() throws(Malformed) -> String? {
        try buffer().map { String(decoding: $0, as: UTF8.self) }
    }

    /// A vector of `element`s; nil for jute's null.
    public mutating func vector<T>(_ element: (inout JuteReader) throws(Malformed) -> T) throws(Malformed) -> [T]? {
        let count = try int()
        if count == -1 { return nil }
        // Each element takes at least a byte: a count past what is left is a lie, not a reason to allocate.
        guard count >= 0, Int(count) <= bytes.readableBytes else {
            throw Malformed(description: "a vector of \(count) elements")
        }
        var elements: [T] = []
        elements.reserveCapacity(Int(count))
        for _ in 0..<count { elements.append(try element(&self)) }
        return elements
    }

    /// The rest of the bytes, unread.
    public mutating func rest() -> ByteBuffer { bytes.readSlice(length: bytes.readableBytes) ?? ByteBuffer() }

    private func truncated(_ what: String) -> Malformed { Malformed(description: "the record ends before \(what)") }
}

/// Writes jute into a `ByteBuffer` (see `JuteReader`).
public struct JuteWriter {
    public var bytes: ByteBuffer

    public init(_ bytes: ByteBuffer) { self.bytes = bytes }

    public mutating func int(_ value: Int32) { bytes.writeInteger(value, endianness: .big) }
    public mutating func long(_ value: Int64) { bytes.writeInteger(value, endianness: .big) }
    public mutating func bool(_ value: Bool) { bytes.writeInteger(UInt8(value ? 1 : 0)) }

    public mutating func buffer(_ bytes: [UInt8]?) {
        guard let bytes else { return int(-1) }
        int(Int32(bytes.count))
        self.bytes.writeBytes(bytes)
    }

    public mutating func string(_ string: String?) {
        guard let string else { return int(-1) }
        int(Int32(string.utf8.count))
        bytes.writeString(string)
    }

    public mutating func vector<T>(_ elements: [T]?, _ element: (inout JuteWriter, T) -> Void) {
        guard let elements else { return int(-1) }
        int(Int32(elements.count))
        for value in elements { element(&self, value) }
    }
}
