import CairnCore

/// Where little-endian integers and length-prefixed byte strings are written: the binary form of WAL
/// payloads and LMDB values.
protocol ByteSink {
    mutating func append(_ bytes: UnsafeRawBufferPointer)
    /// Writes `value` little-endian (a store, not a copy call: records are mostly integers).
    mutating func write<T: FixedWidthInteger>(_ value: T)
}

extension ByteSink {

    mutating func write(bytes other: [UInt8]) {
        write(UInt32(other.count))
        other.withUnsafeBytes { append($0) }
    }

    /// nil as the length `UInt32.max` (no byte string is that long: data is limited far below it).
    mutating func write(optionalBytes other: [UInt8]?) {
        guard let other else { return write(UInt32.max) }
        write(bytes: other)
    }

    mutating func write(string: some StringProtocol) {
        let utf8 = string.utf8
        write(UInt32(utf8.count))
        if utf8.withContiguousStorageIfAvailable({ append(UnsafeRawBufferPointer($0)) }) == nil {
            Array(utf8).withUnsafeBytes { append($0) }  // a string not stored as contiguous UTF-8
        }
    }
}

/// A growable byte array to write into.
struct ByteWriter: ByteSink {
    var bytes: [UInt8] = []

    init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    mutating func append(_ other: UnsafeRawBufferPointer) { bytes.append(contentsOf: other) }

    mutating func write<T: FixedWidthInteger>(_ value: T) {
        append(reserving: MemoryLayout<T>.size) { $0.storeBytes(of: value.littleEndian, as: T.self) }
    }

    /// Appends `count` bytes, all written by `fill` straight into the array's spare capacity.
    mutating func append(reserving count: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) {
        bytes.append(addingCapacity: count) { span in
            span.withUnsafeMutableBufferPointer { buffer, initialized in
                fill(
                    UnsafeMutableRawBufferPointer(
                        UnsafeMutableBufferPointer(rebasing: buffer[initialized..<(initialized + count)])))
                initialized += count
            }
        }
    }
}

/// Writes into space reserved in advance (an LMDB value put with `MDB_RESERVE`), which must be large enough.
struct ReservedSpaceWriter: ByteSink {
    let space: UnsafeMutableRawBufferPointer
    private(set) var count = 0

    init(_ space: UnsafeMutableRawBufferPointer) { self.space = space }

    mutating func append(_ other: UnsafeRawBufferPointer) {
        precondition(other.count <= space.count - count, "a value outgrew the space reserved for it")
        UnsafeMutableRawBufferPointer(rebasing: space[count..<(count + other.count)]).copyMemory(from: other)
        count += other.count
    }

    mutating func write<T: FixedWidthInteger>(_ value: T) {
        precondition(MemoryLayout<T>.size <= space.count - count, "a value outgrew the space reserved for it")
        space.storeBytes(of: value.littleEndian, toByteOffset: count, as: T.self)
        count += MemoryLayout<T>.size
    }
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

    /// What `write(optionalBytes:)` wrote.
    mutating func readOptionalBytes() throws(Truncated) -> [UInt8]? {
        let count = try read(UInt32.self)
        guard count != UInt32.max else { return nil }
        offset -= 4
        return try readBytes()
    }

    mutating func readString() throws(Truncated) -> String {
        String(decoding: try readBytes(), as: UTF8.self)
    }
}
