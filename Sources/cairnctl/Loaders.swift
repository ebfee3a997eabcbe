import Cairn
import CairnCore
import CairnStore

/// Loads through a server: per batch, one `multi` of creates (or sets, when overwriting).
struct LiveLoader: NodeLoader {
    let client: CairnClient
    let conflict: Load.Conflict
    let dryRun: Bool

    mutating func load(_ batch: [ZNode]) async throws -> (loaded: Int, skipped: Int) {
        var ops: [MultiOp] = []
        var paths: [String] = []
        var skipped = 0
        do {
            for node in batch {
                let path = node.path.string
                if conflict != .fail, try await client.exists(path) != nil {
                    if conflict == .skip {
                        skipped += 1
                        continue
                    }
                    // The JSON-lines protocol has no null data: null loads as empty here.
                    ops.append(.set(path, data: node.data ?? []))
                } else {
                    ops.append(.create(path, data: node.data ?? [], mode: node.kind.createMode, acl: node.acl))
                }
                paths.append(path)
            }
            if !dryRun && !ops.isEmpty { try await client.multi(ops) }
        } catch let error as ClientError {
            if case .server(let code, let message, let index, _) = error {
                throw LoadFailure(
                    path: index.map { paths[$0] } ?? paths.first ?? "?", reason: "\(code.rawValue): \(message)")
            }
            fail("cannot reach the server: \(error)", code: .unreachable)
        }
        return (ops.count, skipped)
    }
}

/// Loads straight into a new data directory through the storage engine: big batches, no server.
struct OfflineLoader: NodeLoader {
    let store: Store
    let dryRun: Bool

    init(dataDir: String, dryRun: Bool) throws {
        store = try openOffline(dataDir)
        self.dryRun = dryRun
        if try store.read({ try $0.nodeCount }) > 1 {
            store.close()
            fail("\(dataDir) already holds nodes; offline load only fills a new data directory", code: .failed)
        }
    }

    mutating func load(_ batch: [ZNode]) async throws -> (loaded: Int, skipped: Int) {
        guard !dryRun else { return (batch.count, 0) }
        let ops = batch.map {
            Operation.create(path: $0.path.string, data: $0.data, kind: $0.kind, sequential: false, acl: $0.acl)
        }
        do {
            _ = try await store.commit(.multi(ops))
        } catch {
            let index = if case .multiFailed(let index, _) = error { index } else { 0 }
            throw LoadFailure(path: batch[index].path.string, reason: "\(error)")
        }
        return (batch.count, 0)
    }

    func close() { store.close() }
}

extension NodeKind {
    var createMode: CreateMode {
        switch self {
        case .persistent: .persistent
        case .ephemeral: .ephemeral
        case .container: .container
        case .persistentWithTTL(let ttl): .persistentWithTTL(.milliseconds(ttl))
        }
    }
}
