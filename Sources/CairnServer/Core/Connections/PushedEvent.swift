import CairnProtocol
import Synchronization

/// An event on its way to connections: one object shared by every connection it goes to, which keeps the bytes
/// the first front end to write it made of it. A change's watch event goes to each of its watchers, and is encoded
/// once rather than once per watcher. (With a second wire format, one memo per format.)
final class PushedEvent: Sendable {
    let event: ServerEvent
    private let encoded = Mutex<[UInt8]?>(nil)

    init(_ event: ServerEvent) { self.event = event }

    /// The event's bytes: `encode`'s, made at the first call.
    func encoded(by encode: (ServerEvent) -> [UInt8]) -> [UInt8] {
        encoded.withLock { memo in
            if let bytes = memo { return bytes }
            let bytes = encode(event)
            memo = bytes
            return bytes
        }
    }
}
