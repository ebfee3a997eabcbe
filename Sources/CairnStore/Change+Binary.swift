import CairnCore

/// The binary payload of a WAL record. Layout (little-endian): format u8 = 1, time i64, session u64
/// (0 = none), effect count u32, then each effect as a tag u8 and its fields; strings and byte strings
/// are a u32 length and the bytes. The zxid is in the record frame, not here.
extension Change {
    static let payloadFormat: UInt8 = 1

    /// The bytes `encodePayload` writes.
    var payloadCount: Int { effects.reduce(21) { $0 + $1.encodedCount } }

    /// Writes the payload bytes (everything but the zxid).
    func encodePayload(into w: inout some ByteSink) {
        w.write(Self.payloadFormat)
        w.write(time)
        w.write(session?.rawValue ?? 0)
        w.write(UInt32(effects.count))
        for effect in effects { effect.encode(into: &w) }
    }

    /// Decodes a payload; throws when it is not one `encodePayload` wrote.
    init(zxid: Zxid, payload: UnsafeRawBufferPointer) throws {
        var r = ByteReader(payload)
        let format: UInt8 = try r.read()
        guard format == Self.payloadFormat else { throw DecodingError.unknownFormat(format) }
        let time: Int64 = try r.read()
        let session: UInt64 = try r.read()
        let count: UInt32 = try r.read()
        var effects: [Effect] = []
        effects.reserveCapacity(Int(min(count, 1024)))
        for _ in 0..<count { effects.append(try Effect(from: &r)) }
        guard r.isAtEnd else { throw DecodingError.trailingBytes }
        self.init(zxid: zxid, time: time, session: session == 0 ? nil : SessionID(rawValue: session), effects: effects)
    }

    enum DecodingError: Error {
        case unknownFormat(UInt8)
        case unknownEffect(UInt8)
        case unknownKind(UInt8)
        case trailingBytes
    }
}

extension Change.Effect {
    private enum Tag: UInt8 {
        case createNode = 1
        case deleteNode, setData, check, createSession, closeSession
        /// A create with an ACL other than the open one (a plain `createNode` has the open ACL).
        case createNodeWithACL
        case setACL
        case restoreCounters
    }

    /// The bytes `encode` writes.
    var encodedCount: Int {
        switch self {
        case .createNode(let path, let data, let kind, _, let acl):
            1 + 4 + path.string.utf8.count + 4 + (data?.count ?? 0) + kind.encodedCount + 8
                + (acl.isOpen ? 0 : acl.encodedCount)
        case .setACL(let path, let acl): 1 + 4 + path.string.utf8.count + acl.encodedCount
        case .restoreCounters(let path, _): 1 + 4 + path.string.utf8.count + 12
        case .deleteNode(let path): 1 + 4 + path.string.utf8.count
        case .setData(let path, let data): 1 + 4 + path.string.utf8.count + 4 + (data?.count ?? 0)
        case .check(let path, _): 1 + 4 + path.string.utf8.count + 4
        case .createSession(_, _, let hash): 1 + 8 + 8 + 4 + hash.count
        case .closeSession: 1 + 8
        }
    }

    func encode(into w: inout some ByteSink) {
        switch self {
        case .createNode(let path, let data, let kind, let owner, let acl):
            w.write(acl.isOpen ? Tag.createNode.rawValue : Tag.createNodeWithACL.rawValue)
            w.write(string: path.string)
            w.write(optionalBytes: data)
            kind.encode(into: &w)
            w.write(owner?.rawValue ?? 0)
            if !acl.isOpen { acl.encode(into: &w) }
        case .setACL(let path, let acl):
            w.write(Tag.setACL.rawValue)
            w.write(string: path.string)
            acl.encode(into: &w)
        case .restoreCounters(let path, let counters):
            w.write(Tag.restoreCounters.rawValue)
            w.write(string: path.string)
            w.write(counters.sequence)
            w.write(counters.version)
            w.write(counters.aversion)
        case .deleteNode(let path):
            w.write(Tag.deleteNode.rawValue)
            w.write(string: path.string)
        case .setData(let path, let data):
            w.write(Tag.setData.rawValue)
            w.write(string: path.string)
            w.write(optionalBytes: data)
        case .check(let path, let version):
            w.write(Tag.check.rawValue)
            w.write(string: path.string)
            w.write(version)
        case .createSession(let id, let timeout, let hash):
            w.write(Tag.createSession.rawValue)
            w.write(id.rawValue)
            w.write(timeout)
            w.write(bytes: hash)
        case .closeSession(let id):
            w.write(Tag.closeSession.rawValue)
            w.write(id.rawValue)
        }
    }

    init(from r: inout ByteReader) throws {
        let rawTag: UInt8 = try r.read()
        guard let tag = Tag(rawValue: rawTag) else { throw Change.DecodingError.unknownEffect(rawTag) }
        switch tag {
        case .createNode, .createNodeWithACL:
            let path = try ZNodePath(r.readString())
            let data = try r.readOptionalBytes()
            let kind = try NodeKind(from: &r)
            let owner: UInt64 = try r.read()
            self = .createNode(
                path: path, data: data, kind: kind, owner: owner == 0 ? nil : SessionID(rawValue: owner),
                acl: tag == .createNodeWithACL ? try ACL(from: &r) : .open)
        case .setACL:
            self = .setACL(path: try ZNodePath(r.readString()), acl: try ACL(from: &r))
        case .restoreCounters:
            let path = try ZNodePath(r.readString())
            self = .restoreCounters(
                path: path,
                counters: NodeCounters(sequence: try r.read(), version: try r.read(), aversion: try r.read()))
        case .deleteNode:
            self = .deleteNode(path: try ZNodePath(r.readString()))
        case .setData:
            self = .setData(path: try ZNodePath(r.readString()), data: try r.readOptionalBytes())
        case .check:
            self = .check(path: try ZNodePath(r.readString()), version: try r.read())
        case .createSession:
            self = .createSession(
                id: SessionID(rawValue: try r.read()), timeoutMilliseconds: try r.read(),
                passwordHash: try r.readBytes())
        case .closeSession:
            self = .closeSession(id: SessionID(rawValue: try r.read()))
        }
    }
}

extension NodeKind {
    /// The bytes `encode` writes.
    var encodedCount: Int {
        if case .persistentWithTTL = self { 9 } else { 1 }
    }

    func encode(into w: inout some ByteSink) {
        switch self {
        case .persistent: w.write(UInt8(0))
        case .ephemeral: w.write(UInt8(1))
        case .container: w.write(UInt8(2))
        case .persistentWithTTL(let ttl):
            w.write(UInt8(3))
            w.write(ttl)
        }
    }

    init(from r: inout ByteReader) throws {
        let raw: UInt8 = try r.read()
        switch raw {
        case 0: self = .persistent
        case 1: self = .ephemeral
        case 2: self = .container
        case 3: self = .persistentWithTTL(ttlMilliseconds: try r.read())
        default: throw Change.DecodingError.unknownKind(raw)
        }
    }
}
