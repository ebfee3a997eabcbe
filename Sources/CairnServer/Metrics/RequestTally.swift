import Synchronization

/// The request figures of one event loop: requests by front end and op, and latencies by op in Prometheus' buckets
/// (with their sum) and in `LatencyBuckets`. Only that loop's thread writes it, so each figure is a relaxed load and
/// store, no read-modify-write and no lock; a scrape or `stats` reads it from any thread (exact per figure, not a
/// snapshot across them). Requests on different loops never touch the same cache lines, which a shared counter or a
/// locked histogram would have them fight over at every answer.
final class RequestTally: @unchecked Sendable {
    // @unchecked: `figures` is allocated once, never resized, and only touched through atomics.
    static let operations = OperationName.allCases.count
    /// Prometheus' bucket bounds for request durations, ns (`ServerMetrics.requestDuration`'s, in seconds).
    static let bounds: [UInt64] = ServerMetrics.requestDurationBounds.map { UInt64(($0 * 1e9).rounded()) }

    /// Where each section of `figures` starts.
    struct Layout {
        static let requests = 0
        static let coarse = requests + FrontEnd.allCases.count * operations
        /// Per op: one count per bound, then +Inf (not cumulative).
        static let coarsePerOperation = bounds.count + 1
        static let sums = coarse + operations * coarsePerOperation
        static let fine = sums + operations
        static let size = fine + operations * LatencyBuckets.count
    }

    private let figures: UnsafeMutablePointer<Atomic<UInt64>>

    init() {
        figures = .allocate(capacity: Layout.size)
        for index in 0..<Layout.size { (figures + index).initialize(to: Atomic(0)) }
    }

    deinit {
        figures.deinitialize(count: Layout.size)
        figures.deallocate()
    }

    /// On this tally's event loop only.
    func record(_ operation: OperationName, frontEnd: FrontEnd, nanoseconds: UInt64) {
        let op = Int(operation.rawValue)
        increase(Layout.requests + frontEnd.rawValue * Self.operations + op, by: 1)
        let coarse = Self.bounds.firstIndex { nanoseconds <= $0 } ?? Self.bounds.count
        increase(Layout.coarse + op * Layout.coarsePerOperation + coarse, by: 1)
        increase(Layout.sums + op, by: nanoseconds)
        increase(Layout.fine + op * LatencyBuckets.count + LatencyBuckets.bucket(nanoseconds), by: 1)
    }

    private func increase(_ index: Int, by amount: UInt64) {
        figures[index].store(figures[index].load(ordering: .relaxed) &+ amount, ordering: .relaxed)
    }

    /// Adds this tally's figures to `totals` (laid out as `Layout` says).
    func add(into totals: inout [UInt64]) {
        for index in 0..<Layout.size { totals[index] &+= figures[index].load(ordering: .relaxed) }
    }
}
