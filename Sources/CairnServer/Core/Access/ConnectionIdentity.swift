import CairnCore
import Synchronization

/// Who a connection has proved to be, shared by its requests (on its event loop) and the watch hub (which checks
/// READ before pushing it an event, on the writer thread).
final class ConnectionIdentity: Sendable {
    private let identity: Mutex<Identity>

    init(_ identity: Identity) { self.identity = Mutex(identity) }

    var current: Identity { identity.withLock { $0 } }

    func update<T, E: Error>(_ body: (inout Identity) throws(E) -> T) throws(E) -> T {
        try identity.withLock { (identity) throws(E) -> T in try body(&identity) }
    }
}
