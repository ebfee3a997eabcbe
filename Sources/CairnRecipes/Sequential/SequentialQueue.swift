import Cairn

/// The shared core of the locks, the semaphore and the election: ephemeral sequential participants under a
/// directory, named `<prefix><ten-digit sequence>` (after a protection prefix) as Curator names them, ordered by
/// the sequence alone, so participants of different kinds (a read-write lock's readers and writers) share one line.
struct SequentialQueue: Sendable {
    let client: CairnClient
    let directory: String
    /// The kinds of participant; the first is the one `enqueue` makes unless told.
    let prefixes: [String]

    init(client: CairnClient, directory: String, prefixes: [String]) {
        self.client = client
        self.directory = directory
        self.prefixes = prefixes
    }

    init(client: CairnClient, directory: String, prefix: String) {
        self.init(client: client, directory: directory, prefixes: [prefix])
    }

    /// Creates this participant's ephemeral sequential node (protected: `CairnClient.createProtected`); returns its
    /// name.
    func enqueue(data: [UInt8], prefix: String? = nil) async throws -> String {
        try await client.createProtected(in: directory, prefix: prefix ?? prefixes[0], data: data, mode: .ephemeral)
    }

    /// The participants' node names, first in line first.
    func members() async throws -> [String] {
        try await client.children(directory).filter { kind(of: $0) != nil }.sorted(by: Self.bySequence)
    }

    /// Which of `prefixes` `name` is a participant of; nil for a node that is none (the `prefix` and the ten-digit
    /// suffix, after a protection prefix or none).
    func kind(of name: String) -> String? {
        let unprotected = CairnClient.unprotected(name)
        return prefixes.first { unprotected.hasPrefix($0) && unprotected.count == $0.count + 10 }
    }

    /// The data of the first member as text (who leads, for the elections), nil when the line is empty or its
    /// directory does not exist.
    func firstMemberText() async throws -> String? {
        while true {
            let first: String?
            do {
                first = try await members().first
            } catch let error as ClientError where error.code == .noNode {
                return nil
            }
            guard let first else { return nil }
            do {
                return try await client.get(directory + "/" + first).text
            } catch let error as ClientError where error.code == .noNode {
                continue  // it left between the listing and the read
            }
        }
    }

    /// Waits until the node `name` is gone or changes; returns at once when it already is.
    func waitFor(predecessor name: String) async throws {
        let (stat, watch) = try await client.existsAndWatch(directory + "/" + name)
        guard stat != nil else { return }
        _ = try await watch.fired()
    }

    func leave(_ name: String) async {
        try? await client.delete(directory + "/" + name)
    }

    /// Order by the ten-digit sequence suffix.
    static func bySequence(_ a: String, _ b: String) -> Bool { a.suffix(10) < b.suffix(10) }
}
