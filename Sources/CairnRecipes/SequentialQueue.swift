import Cairn
import Foundation

/// The shared core of election and lock: ephemeral sequential candidates under a directory, ordered by
/// their sequence suffix; each waits only on the one just ahead of it (no herd effect).
struct SequentialQueue: Sendable {
    let client: CairnClient
    let directory: String
    let prefix: String

    /// Creates this participant's ephemeral sequential node, protected as Curator's protection mode does, and
    /// returns its name. The name begins `_c_<GUID>-`, the GUID chosen before the first attempt: when the connection
    /// drops with a create's reply unheard, the node that create may have made is looked for by its GUID rather than
    /// made a second time (a second node would wait behind the first, its own orphan, until the session ends), and
    /// once a create is heard any other node with the GUID — an orphan of an attempt before — is deleted.
    func enqueue(data: [UInt8]) async throws -> String {
        try await client.createParents(directory)
        let protected = "_c_" + UUID().uuidString.lowercased() + "-" + prefix
        var attempted = false
        while true {
            do {
                if attempted, let found = try await nodes(named: protected).first { return found }
                let path = try await client.create(
                    directory + "/" + protected, data: data, mode: .ephemeral, sequential: true)
                let name = String(path.split(separator: "/").last!)
                if attempted {
                    for orphan in try await nodes(named: protected) where orphan != name { await leave(orphan) }
                }
                return name
            } catch let error as ClientError where error == .connectionLoss || error == .timedOut {
                attempted = true
            }
        }
    }

    /// The nodes in the directory whose names begin with `protected` (this participant's GUID), by sequence.
    private func nodes(named protected: String) async throws -> [String] {
        try await client.children(directory).filter { $0.hasPrefix(protected) }.sorted(by: Self.bySequence)
    }

    /// Where `name` stands: first, waiting behind `predecessor`, or gone (its session expired).
    enum Position: Equatable {
        case first
        case behind(predecessor: String)
        case gone
    }

    func position(of name: String) async throws -> Position {
        let queue = try await client.children(directory).filter(isMember).sorted(by: Self.bySequence)
        guard let index = queue.firstIndex(of: name) else { return .gone }
        return index == 0 ? .first : .behind(predecessor: queue[index - 1])
    }

    /// Waits until the predecessor is gone or changes; returns at once when it already is.
    func waitFor(predecessor: String) async throws {
        let (stat, watch) = try await client.existsAndWatch(directory + "/" + predecessor)
        guard stat != nil else { return }
        _ = try await watch.fired()
    }

    func leave(_ name: String) async {
        try? await client.delete(directory + "/" + name)
    }

    /// Whether `name` is a participant's: `prefix` and the ten-digit suffix, after a protection prefix
    /// (`_c_<GUID>-`, 40 characters with a UUID, as Curator writes it) or none.
    private func isMember(_ name: String) -> Bool {
        let unprotected = name.hasPrefix("_c_") ? name.dropFirst(40) : name[...]
        return unprotected.hasPrefix(prefix) && unprotected.count == prefix.count + 10
    }

    /// Order by the ten-digit sequence suffix.
    static func bySequence(_ a: String, _ b: String) -> Bool { a.suffix(10) < b.suffix(10) }
}
