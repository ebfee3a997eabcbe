import CairnCore

/// A session as persisted in the `sessions` database.
///
/// The deadline is wall-clock (last heard + timeout), refreshed at checkpoints and clean shutdown,
/// never per ping. `graceGranted` records that a restart already gave this session its one reconnect
/// grace and it has not been heard from since: the next start gives it none (see `SessionRestore`).
public struct SessionRecord: Hashable, Sendable {
    public var id: SessionID
    public var timeoutMilliseconds: Int64
    /// SHA-256 of the session's random 16-byte password; the password itself is never stored.
    public var passwordHash: [UInt8]
    /// Milliseconds since the epoch after which the session is expired unless heard from.
    public var deadline: Int64
    public var graceGranted: Bool

    public init(id: SessionID, timeoutMilliseconds: Int64, passwordHash: [UInt8], deadline: Int64, graceGranted: Bool) {
        self.id = id
        self.timeoutMilliseconds = timeoutMilliseconds
        self.passwordHash = passwordHash
        self.deadline = deadline
        self.graceGranted = graceGranted
    }

    static func key(_ id: SessionID) -> [UInt8] { NodeID(id.rawValue).key }

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.write(timeoutMilliseconds)
        w.write(deadline)
        w.write(UInt8(graceGranted ? 1 : 0))
        w.write(bytes: passwordHash)
        return w.bytes
    }

    init(id: SessionID, decoding raw: UnsafeRawBufferPointer) throws {
        var r = ByteReader(raw)
        self.id = id
        timeoutMilliseconds = try r.read()
        deadline = try r.read()
        graceGranted = try r.read(UInt8.self) != 0
        passwordHash = try r.readBytes()
    }
}
