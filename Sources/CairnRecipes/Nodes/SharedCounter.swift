import Cairn

/// A counter in one node shared across processes, changed only by compare-and-set on the node's version, as
/// Curator's `DistributedAtomicLong` (8 bytes, big-endian; a 4-byte `SharedCount` value reads too and keeps its
/// width).
public struct SharedCounter: Sendable {
    public let client: CairnClient
    public let path: String

    public init(client: CairnClient, path: String) {
        self.client = client
        self.path = path
    }

    /// The value and the node's version; 0 and -1 when the node does not exist yet.
    public func read() async throws -> (value: Int64, version: Int32) {
        guard let node = try await client.getIfExists(path) else { return (0, -1) }
        return (Self.decode(node.data), node.stat.version)
    }

    public func value() async throws -> Int64 { try await read().value }

    /// Sets `new` if the value is still at `version` (from `read()`); false when someone changed it first. A set whose
    /// reply was lost is judged by reading again: the next version holding `new` counts as this one.
    public func trySet(_ new: Int64, ifVersion version: Int32) async throws -> Bool {
        do {
            if version < 0 {
                try await client.createParents(path.parentPath)
                try await client.create(path, data: Self.encode(new, width: 8))
            } else {
                let width = try await client.get(path).data.count == 4 ? 4 : 8
                try await client.set(path, data: Self.encode(new, width: width), version: version)
            }
            return true
        } catch let error as ClientError where error.code == .badVersion || error.code == .nodeExists {
            return false
        } catch let error as ClientError where error == .connectionLoss || error == .timedOut {
            let now = try await read()
            return now.version == version + 1 && now.value == new
        }
    }

    /// Sets `new` if the value is `expected`; false when it is not.
    public func compareAndSet(expected: Int64, new: Int64) async throws -> Bool {
        while true {
            let (value, version) = try await read()
            guard value == expected else { return false }
            if try await trySet(new, ifVersion: version) { return true }
        }
    }

    /// Adds `delta` (compare-and-set until it is the one to change the value); returns the new value.
    @discardableResult
    public func add(_ delta: Int64) async throws -> Int64 {
        while true {
            let (value, version) = try await read()
            let new = value &+ delta
            if try await trySet(new, ifVersion: version) { return new }
        }
    }

    /// Every value the counter takes from now on, from a persistent watch (resumed after reconnects).
    public func changes() async throws -> AsyncThrowingStream<Int64, any Error> {
        let events = try await client.watch(path)
        let client = client
        let path = path
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    for try await event in events where event.type != .deleted {
                        let node = try await retryingConnectionLoss { try await client.getIfExists(path) }
                        if let node { continuation.yield(Self.decode(node.data)) }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    static func decode(_ data: [UInt8]) -> Int64 {
        guard data.count == 4 || data.count == 8 else { return 0 }
        let unsigned = data.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return data.count == 4 ? Int64(Int32(truncatingIfNeeded: unsigned)) : Int64(bitPattern: unsigned)
    }

    static func encode(_ value: Int64, width: Int) -> [UInt8] {
        let bits = UInt64(bitPattern: value)
        return (0..<width).reversed().map { UInt8(truncatingIfNeeded: bits >> (8 * UInt64($0))) }
    }
}
