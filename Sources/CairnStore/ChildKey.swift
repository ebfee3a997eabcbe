import CairnCore

/// Keys of the `children` database: parent id (8 bytes, big-endian) followed by the child's name, so one
/// parent's children sit together in name order and listing them never touches grandchildren.
///
/// LMDB keys are at most 511 bytes. A name longer than `inlineLimit` bytes is keyed by its first
/// `inlineLimit` bytes plus an 8-byte hash, and its full name rides in the value; listing sorts the few
/// such names that share a prefix, so the order stays by name.
enum ChildKey {
    static let inlineLimit = 480

    static func make(parent: NodeID, name: some StringProtocol) -> [UInt8] {
        let count = name.utf8.count
        if count <= inlineLimit {
            return [UInt8](unsafeUninitializedCapacity: 8 + count) { buffer, initialized in
                withUnsafeBytes(of: parent.bigEndian) { UnsafeMutableRawBufferPointer(buffer).copyBytes(from: $0) }
                initialized = 8 + (UnsafeMutableBufferPointer(rebasing: buffer[8...]).initialize(from: name.utf8).1)
            }
        }
        // A long name: its first bytes, then a hash of all of it (the value holds the full name).
        var key = parent.key
        let utf8 = Array(name.utf8)
        key.append(contentsOf: utf8.prefix(inlineLimit))
        withUnsafeBytes(of: fnv1a(utf8).bigEndian) { key.append(contentsOf: $0) }
        return key
    }

    /// The value stored under a child key: the child's id, and its full name when the key holds a hash.
    static func value(child: NodeID, name: some StringProtocol) -> [UInt8] {
        var value = child.key
        if name.utf8.count > inlineLimit { value.append(contentsOf: name.utf8) }
        return value
    }

    /// The name of the child behind an entry.
    static func name(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> String {
        value.count > 8
            ? String(decoding: value[8...], as: UTF8.self)
            : String(decoding: key[8...], as: UTF8.self)
    }

    static func isHashed(_ key: UnsafeRawBufferPointer) -> Bool { key.count > 8 + inlineLimit }

    private static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }
}
