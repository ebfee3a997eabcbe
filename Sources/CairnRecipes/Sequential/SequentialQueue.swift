import Cairn

/// The shared core of election and lock: ephemeral sequential candidates under a directory, ordered by
/// their sequence suffix; each waits only on the one just ahead of it (no herd effect).
struct SequentialQueue: Sendable {
    let client: CairnClient
    let directory: String
    let prefix: String

    /// Creates this participant's ephemeral sequential node (protected: `CairnClient.createProtected`); returns its
    /// name.
    func enqueue(data: [UInt8]) async throws -> String {
        try await client.createProtected(in: directory, prefix: prefix, data: data, mode: .ephemeral)
    }

    /// Where `name` stands: first, waiting behind `predecessor`, or gone (its session expired).
    enum Position: Equatable {
        case first
        case behind(predecessor: String)
        case gone
    }

    func position(of name: String) async throws -> Position {
        let queue = try await members()
        guard let index = queue.firstIndex(of: name) else { return .gone }
        return index == 0 ? .first : .behind(predecessor: queue[index - 1])
    }

    /// The participants' node names, first in line first.
    func members() async throws -> [String] {
        try await client.children(directory).filter(isMember).sorted(by: Self.bySequence)
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

    /// Whether `name` is a participant's: `prefix` and the ten-digit suffix, after a protection prefix or none.
    private func isMember(_ name: String) -> Bool {
        let unprotected = CairnClient.unprotected(name)
        return unprotected.hasPrefix(prefix) && unprotected.count == prefix.count + 10
    }

    /// Order by the ten-digit sequence suffix.
    static func bySequence(_ a: String, _ b: String) -> Bool { a.suffix(10) < b.suffix(10) }
}
