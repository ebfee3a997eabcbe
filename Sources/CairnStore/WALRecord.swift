import CairnCore

/// The frame of one WAL record:
///
///     length u32 | crc32c u32 | zxid u64 | payload (length bytes)
///
/// little-endian; the CRC-32C covers the length, the zxid and the payload (everything but itself).
enum WALRecord {
    static let headerSize = 16
    /// A length above this is not a record: it is damage.
    static let maxPayloadSize = 256 << 20

    /// Appends the framed record of `change` to `buffer`, encoded in place in one reserved stretch.
    static func append(_ change: Change, to buffer: inout ByteWriter) {
        let length = change.payloadCount
        buffer.append(reserving: headerSize + length) { frame in
            var w = ReservedSpaceWriter(frame)
            w.write(UInt32(length))
            w.write(UInt32(0))  // checksum, filled in below
            w.write(change.zxid)
            change.encodePayload(into: &w)
            precondition(w.count == frame.count, "a change's payloadCount is not what encodePayload wrote")
            var crc = CRC32C()
            crc.update(UnsafeRawBufferPointer(rebasing: frame[0..<4]))
            crc.update(UnsafeRawBufferPointer(rebasing: frame[8...]))  // the zxid, then the payload
            frame.storeBytes(of: crc.value.littleEndian, toByteOffset: 4, as: UInt32.self)
        }
    }

    /// What lies at an offset of a segment.
    enum Parse {
        /// A whole record whose checksum matches; the next one starts at `end`.
        case record(zxid: Zxid, payload: UnsafeRawBufferPointer, end: Int)
        /// The bytes end inside the header or the payload.
        case truncated
        /// Only zero bytes from here to the end.
        case zeros
        /// A frame that is whole but wrong (checksum, impossible length).
        case damaged(reason: String)
    }

    static func parse(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Parse {
        let available = bytes.count - offset
        if bytes[offset...].allSatisfy({ $0 == 0 }) { return .zeros }
        guard available >= headerSize else { return .truncated }
        let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        let stored = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
        let zxid = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
        guard length <= maxPayloadSize else { return .damaged(reason: "impossible record length \(length)") }
        guard available >= headerSize + length else { return .truncated }
        let payload = UnsafeRawBufferPointer(rebasing: bytes[(offset + headerSize)..<(offset + headerSize + length)])
        var crc = CRC32C()
        crc.update(UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + 4]))
        crc.update(UnsafeRawBufferPointer(rebasing: bytes[(offset + 8)..<(offset + 16)]))
        crc.update(payload)
        guard crc.value == stored else {
            return .damaged(reason: "checksum mismatch (stored \(hex(stored)), computed \(hex(crc.value)))")
        }
        return .record(zxid: zxid, payload: payload, end: offset + headerSize + length)
    }

    private static func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16) }
}
