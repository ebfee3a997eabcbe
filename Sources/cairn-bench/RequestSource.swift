import CairnCore
import CairnProtocol
import CairnTesting
import NIOCore

/// What a load connection sends next: the workload's request stream (unique create paths, random keys, a
/// registry's create-then-delete). Shared by both kinds of connection, so they send exactly the same load.
struct RequestSource {
    /// The request just answered, as far as choosing the next one needs.
    struct Sent {
        /// For registry cycles: a create (whose reply names the node to delete next) or a delete.
        var isCreate: Bool
    }

    private let workload: Workload
    let lines: RequestLines
    private let keys: Int
    private let readRatio: Double
    private var sequence = 0
    private var generator: SplitMix64
    /// `/bench/c/<run>-<connection>-`: makes create paths unique across runs against the same server.
    private let createPrefix: String

    init(workload: Workload, index: Int, keys: Int, readRatio: Double, lines: RequestLines) {
        self.workload = workload
        self.lines = lines
        self.keys = keys
        self.readRatio = readRatio
        createPrefix = "/bench/c/\(String(SystemClock.wallMilliseconds(), radix: 36))-\(index)-"
        generator = SplitMix64(seed: UInt64(index) &+ SystemClock.monotonicNanoseconds())
    }

    /// Writes the next request into `out`, given the previous one and its reply (nil at the start).
    mutating func next(after previous: Sent?, reply: ByteBuffer?, into out: inout ByteBuffer) -> Sent {
        switch workload {
        case .create:
            sequence += 1
            lines.create(createPrefix + String(sequence), into: &out)
        case .set: lines.set(randomKey(), into: &out)
        case .get: RequestLines.write(.get(randomKey(), watch: false), into: &out)
        case .exists: RequestLines.write(.exists(randomKey(), watch: false), into: &out)
        case .children: RequestLines.write(.children(Self.directory, watch: false), into: &out)
        case .mixed:
            let read = Double.random(in: 0..<1, using: &generator) < readRatio
            if read {
                RequestLines.write(.get(randomKey(), watch: false), into: &out)
            } else {
                lines.set(randomKey(), into: &out)
            }
        case .registry:
            if let previous, previous.isCreate, let reply, let path = RequestLines.createdPath(reply) {
                RequestLines.write(.change(.delete(path: RequestLines.path(path), version: -1)), into: &out)
                return Sent(isCreate: false)
            }
            lines.create("/bench/svc/i-", ephemeral: true, sequential: true, into: &out)
            return Sent(isCreate: true)
        case .watch:
            // The watch workload's changer writes its own sets; a load connection never runs it.
            preconditionFailure("the watch workload has no load connections")
        }
        return Sent(isCreate: workload == .create)
    }

    private mutating func randomKey() -> ZNodePath {
        RequestLines.path("/bench/k/" + String(generator.next() % UInt64(keys)))
    }

    private static let directory = RequestLines.path("/bench/dir")
}
