import Cairn

/// The shared core of election and lock: ephemeral sequential candidates under a directory, ordered by
/// their sequence suffix; each waits only on the one just ahead of it (no herd effect).
struct SequentialQueue: Sendable {
    let client: CairnClient
    let directory: String
    let prefix: String

    /// Creates this participant's ephemeral sequential node; returns its name.
    func enqueue(data: [UInt8]) async throws -> String {
        try await client.createParents(directory)
        let path = try await client.create(directory + "/" + prefix, data: data, mode: .ephemeral, sequential: true)
        return String(path.split(separator: "/").last!)
    }

    /// Where `name` stands: first, waiting behind `predecessor`, or gone (its session expired).
    enum Position: Equatable {
        case first
        case behind(predecessor: String)
        case gone
    }

    func position(of name: String) async throws -> Position {
        let queue = try await client.children(directory).filter { $0.hasPrefix(prefix) }.sorted(by: Self.bySequence)
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

    /// Order by the ten-digit sequence suffix.
    static func bySequence(_ a: String, _ b: String) -> Bool { a.suffix(10) < b.suffix(10) }
}
