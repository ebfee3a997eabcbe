import CCRC32C

/// CRC-32C (Castagnoli), the checksum of WAL records and snapshot manifests: the processor's instruction where
/// it has one, else slice-by-8 tables.
public struct CRC32C: Sendable {
    /// Eight tables of 256 entries, one after another. `nonisolated(unsafe)`: written once, by the lazy
    /// initializer of this static (which Swift runs exactly once), and only read after.
    nonisolated(unsafe) private static let tables: UnsafePointer<UInt32> = {
        let tables = UnsafeMutablePointer<UInt32>.allocate(capacity: 8 * 256)
        for i in 0..<256 {
            var crc = UInt32(i)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
            tables[i] = crc
        }
        for t in 1..<8 {
            for i in 0..<256 {
                let previous = tables[(t - 1) * 256 + i]
                tables[t * 256 + i] = (previous >> 8) ^ tables[Int(previous & 0xFF)]
            }
        }
        return UnsafePointer(tables)
    }()

    private var state: UInt32 = 0xFFFF_FFFF

    public init() {}

    /// The checksum of everything passed to `update` so far.
    public var value: UInt32 { ~state }

    /// Whether the processor's instruction is used (else the tables).
    static let hardware = cairn_crc32c_available() != 0

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        state =
            Self.hardware ? cairn_crc32c_update(state, bytes.baseAddress, bytes.count) : Self.tableUpdate(state, bytes)
    }

    /// Folds `bytes` into the running state `crc` with the tables, eight bytes a step.
    static func tableUpdate(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc = crc
        var index = 0
        let count = bytes.count
        let t0 = tables
        let t1 = t0 + 256
        let t2 = t0 + 512
        let t3 = t0 + 768
        let t4 = t0 + 1024
        let t5 = t0 + 1280
        let t6 = t0 + 1536
        let t7 = t0 + 1792
        while count - index >= 8 {
            let lo = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt32.self)) ^ crc
            let hi = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: index + 4, as: UInt32.self))
            crc =
                t7[Int(lo & 0xFF)] ^ t6[Int((lo >> 8) & 0xFF)] ^ t5[Int((lo >> 16) & 0xFF)]
                ^ t4[Int(lo >> 24)] ^ t3[Int(hi & 0xFF)] ^ t2[Int((hi >> 8) & 0xFF)]
                ^ t1[Int((hi >> 16) & 0xFF)] ^ t0[Int(hi >> 24)]
            index += 8
        }
        while index < count {
            crc = (crc >> 8) ^ t0[Int((crc ^ UInt32(bytes[index])) & 0xFF)]
            index += 1
        }
        return crc
    }

    public mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc = CRC32C()
        crc.update(bytes)
        return crc.value
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 { bytes.withUnsafeBytes { checksum($0) } }
}
