import CairnCore

/// Appends little-endian integers and length-prefixed byte strings: the binary form of WAL payloads and
/// LMDB values.
struct ByteWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    mutating func write<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func write(bytes other: some Collection<UInt8>) {
        write(UInt32(other.count))
        bytes.append(contentsOf: other)
    }

    mutating func write(string: some StringProtocol) { write(bytes: string.utf8) }
}

/// Reads what `ByteWriter` wrote; every read is bounds-checked and throws on short input.
struct ByteReader {
    struct Truncated: Error {}

    let bytes: UnsafeRawBufferPointer
    var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var isAtEnd: Bool { offset == bytes.count }

    mutating func read<T: FixedWidthInteger>(_: T.Type = T.self) throws(Truncated) -> T {
        guard bytes.count - offset >= MemoryLayout<T>.size else { throw Truncated() }
        defer { offset += MemoryLayout<T>.size }
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    mutating func readBytes() throws(Truncated) -> [UInt8] {
        let count = Int(try read(UInt32.self))
        guard bytes.count - offset >= count else { throw Truncated() }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    mutating func readString() throws(Truncated) -> String {
        String(decoding: try readBytes(), as: UTF8.self)
    }
}
