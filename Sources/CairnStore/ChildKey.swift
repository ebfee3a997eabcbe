import CairnCore

/// Keys of the `children` database: parent id (8 bytes, big-endian) followed by the child's name, so one
/// parent's children sit together in name order and listing them never touches grandchildren.
///
/// LMDB keys are at most 511 bytes. A name longer than `inlineLimit` bytes is keyed by its first
/// `inlineLimit` bytes plus an 8-byte hash, and its full name rides in the value; listing sorts the few
/// such names that share a prefix, so the order stays by name.
enum ChildKey {
    static let inlineLimit = 480

    /// Calls `body` with the key of `name` under `parent`, built on the stack.
    @discardableResult
    static func with<R>(
        parent: NodeID, name: some StringProtocol, _ body: (UnsafeRawBufferPointer) throws -> R
    ) rethrows -> R {
        let count = name.utf8.count
        guard count <= inlineLimit else { return try hashedKey(parent: parent, name: name).withUnsafeBytes(body) }
        return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 8 + count) { key in
            withUnsafeBytes(of: parent.bigEndian) { UnsafeMutableRawBufferPointer(key).copyMemory(from: $0) }
            let rest = UnsafeMutableBufferPointer(rebasing: key[8...])
            if name.utf8.withContiguousStorageIfAvailable({ rest.initialize(fromContentsOf: $0) }) == nil {
                _ = rest.initialize(from: name.utf8)
            }
            return try body(UnsafeRawBufferPointer(key))
        }
    }

    /// A long name's key: its first bytes, then a hash of all of it (the value holds the full name).
    private static func hashedKey(parent: NodeID, name: some StringProtocol) -> [UInt8] {
        var key = parent.key
        let utf8 = Array(name.utf8)
        key.append(contentsOf: utf8.prefix(inlineLimit))
        withUnsafeBytes(of: fnv1a(utf8).bigEndian) { key.append(contentsOf: $0) }
        return key
    }

    /// Calls `body` with the value stored under a child key: the child's id, and its full name when the key
    /// holds a hash.
    static func withValue<R>(
        child: NodeID, name: some StringProtocol, _ body: (UnsafeRawBufferPointer) throws -> R
    ) rethrows -> R {
        guard name.utf8.count > inlineLimit else { return try child.withKey(body) }
        return try (child.key + Array(name.utf8)).withUnsafeBytes(body)
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
