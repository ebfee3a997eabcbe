import CairnCore
import CairnStore
import CairnTesting
import Logging

/// A store in a temp directory, opened with small sizes so tests reach rolls, growth and retention fast.
final class StoreFixture {
    let directory = TemporaryDirectory("cairn-store")
    var configuration: Store.Configuration
    private(set) var store: Store

    init(_ tune: (inout Store.Configuration) -> Void = { _ in }) throws {
        var configuration = Store.Configuration(dataDirectory: directory.appending("data"))
        configuration.initialMapSize = 1 << 20
        configuration.walSegmentSize = 64 << 10
        configuration.snapshotEveryChanges = 0
        configuration.snapshotEveryMilliseconds = 0
        tune(&configuration)
        self.configuration = configuration
        store = try Store.open(configuration, logger: quietLogger)
    }

    var data: DataDirectory { configuration.dataDirectory }

    /// Closes the store (cleanly unless told otherwise) and opens it again.
    func reopen(logger: Logger = quietLogger) throws {
        store.close()
        store = try Store.open(configuration, logger: logger)
    }

    deinit { store.close() }

    @discardableResult
    func commit(_ request: Request, session: SessionID? = nil) throws -> Committed {
        try store.commitBlocking(request, session: session)
    }

    @discardableResult
    func create(
        _ path: String, _ data: String = "", kind: NodeKind = .persistent, sequential: Bool = false,
        session: SessionID? = nil
    ) throws -> (path: ZNodePath, stat: Stat) {
        let committed = try commit(
            .operation(.create(path: path, data: Array(data.utf8), kind: kind, sequential: sequential)),
            session: session)
        guard case .created(let created, let stat) = committed.results.first else {
            throw CairnError.internal("no result")
        }
        return (created, stat)
    }

    func node(_ path: String) throws -> ZNode? {
        let path = try ZNodePath(path)
        return try store.read { try $0.node(at: path) }
    }

    func children(_ path: String) throws -> [String]? {
        let path = try ZNodePath(path)
        return try store.read { try $0.children(of: path)?.names }
    }

    /// Every node, parents first: the state to compare across reopenings.
    func tree() throws -> [ZNode] {
        try store.read { view in
            var nodes: [ZNode] = []
            try view.visit { nodes.append($0) }
            return nodes
        }
    }

    func newSession(timeout: Int64 = 10_000) throws -> SessionID {
        let id = SessionID(rawValue: UInt64.random(in: 1...UInt64.max))
        try commit(.createSession(id: id, timeoutMilliseconds: timeout, passwordHash: Array(repeating: 7, count: 32)))
        return id
    }
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

func path(_ s: String) -> ZNodePath { try! ZNodePath(s) }

/// Tests log warnings and worse only.
let quietLogger: Logger = {
    var logger = Logger(label: "cairn.store.test")
    logger.logLevel = .warning
    return logger
}()

/// Runs blocking store calls (reads, reopen) from an async test: they take microseconds, not I/O waits
/// on other tasks, so holding the test's thread is harmless.
func blocking<T>(_ body: () throws -> T) rethrows -> T { try body() }
