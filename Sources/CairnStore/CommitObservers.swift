import CairnCore
import Synchronization

/// The functions told of every committed batch (the server's watch manager, history followers).
final class CommitObservers: Sendable {
    private let observers = Mutex<[@Sendable ([Change]) -> Void]>([])

    func add(_ observer: @escaping @Sendable ([Change]) -> Void) { observers.withLock { $0.append(observer) } }

    func notify(_ changes: [Change]) {
        for observer in observers.withLock({ $0 }) { observer(changes) }
    }
}
