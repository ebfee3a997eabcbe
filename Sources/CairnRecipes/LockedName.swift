import Synchronization

/// The node name a participant currently owns, shared between its tasks.
final class LockedName: Sendable {
    private let name = Mutex<String?>(nil)

    func set(_ value: String?) { name.withLock { $0 = value } }
    var value: String? { name.withLock { $0 } }
    func take() -> String? {
        name.withLock { value in
            defer { value = nil }
            return value
        }
    }
}
