import CairnProtocol
import Synchronization

/// An event on its way to connections: one object shared by every connection it goes to, which keeps the bytes
/// each wire format made of it the first time one of its connections wrote it. A change's watch event goes to each
/// of its watchers, and is encoded once per format rather than once per watcher.
final class PushedEvent: Sendable {
    /// The wire formats, each with its memo.
    enum Memo: Int, CaseIterable {
        case jsonLines, zooKeeper
    }

    let event: ServerEvent
    private let encoded = Mutex<[[UInt8]?]>(Array(repeating: nil, count: Memo.allCases.count))

    init(_ event: ServerEvent) { self.event = event }

    /// The event's bytes in `memo`'s format: `encode`'s, made at the format's first call.
    func encoded(_ memo: Memo, by encode: (ServerEvent) -> [UInt8]) -> [UInt8] {
        encoded.withLock { memos in
            if let bytes = memos[memo.rawValue] { return bytes }
            let bytes = encode(event)
            memos[memo.rawValue] = bytes
            return bytes
        }
    }
}
