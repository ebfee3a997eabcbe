import CairnCore

/// The binary form of an ACL in node records and WAL records (little-endian): entry count u32, then each entry's
/// permissions u32, scheme and id (u32 length + UTF-8 bytes).
extension ACL {
    /// The bytes `encode` writes.
    var encodedCount: Int {
        reduce(4) { $0 + 4 + 4 + $1.principal.scheme.utf8.count + 4 + $1.principal.id.utf8.count }
    }

    func encode(into w: inout some ByteSink) {
        w.write(UInt32(count))
        for entry in self {
            w.write(entry.permissions.rawValue)
            w.write(string: entry.principal.scheme)
            w.write(string: entry.principal.id)
        }
    }

    init(from r: inout ByteReader) throws {
        let count: UInt32 = try r.read()
        var entries: [ACLEntry] = []
        entries.reserveCapacity(Int(Swift.min(count, 64)))
        for _ in 0..<count {
            let permissions = Permissions(rawValue: try r.read())
            let scheme = try r.readString()
            entries.append(ACLEntry(permissions, Principal(scheme: scheme, id: try r.readString())))
        }
        self.init(entries)
    }
}
