import Synchronization

/// Request latencies by op, kept for the quantiles the `stats` reply gives (Prometheus gets its histograms from
/// swift-metrics; it computes quantiles itself). Counts in log-spaced buckets, eight per doubling from 1 µs to
/// about a minute, so a quantile is an upper bound within 1/8 of the truth. Each count is a relaxed atomic: any
/// event loop records, any thread reads.
final class LatencyQuantiles: @unchecked Sendable {
    // @unchecked: `counts` is allocated once, never resized, and only touched through atomics.
    private static let subBuckets = 8
    private static let firstOctave = 10  // 2^10 ns ≈ 1 µs
    private static let octaves = 26  // up to 2^36 ns ≈ 69 s
    private static let perOperation = octaves * subBuckets + 2  // the last counts everything longer

    private let operations: Int
    private let counts: UnsafeMutablePointer<Atomic<UInt64>>

    init(operations: Int) {
        self.operations = operations
        let total = operations * Self.perOperation
        counts = .allocate(capacity: total)
        for index in 0..<total { (counts + index).initialize(to: Atomic(0)) }
    }

    deinit {
        counts.deinitialize(count: operations * Self.perOperation)
        counts.deallocate()
    }

    func record(_ operation: Int, nanoseconds: UInt64) {
        counts[operation * Self.perOperation + Self.bucket(nanoseconds)].wrappingAdd(1, ordering: .relaxed)
    }

    /// How many were recorded for `operation`, and the latencies (ns, upper bounds) below which the fractions
    /// `quantiles` of them fall; nil when none was recorded.
    func summary(_ operation: Int, quantiles: [Double]) -> (count: UInt64, values: [UInt64])? {
        let base = operation * Self.perOperation
        let histogram = (0..<Self.perOperation).map { counts[base + $0].load(ordering: .relaxed) }
        let count = histogram.reduce(0, +)
        guard count > 0 else { return nil }
        let values = quantiles.map { quantile -> UInt64 in
            let rank = max(1, UInt64((quantile * Double(count)).rounded(.up)))
            var seen: UInt64 = 0
            for (bucket, n) in histogram.enumerated() {
                seen += n
                if seen >= rank { return Self.upperBound(bucket) }
            }
            return Self.upperBound(Self.perOperation - 1)
        }
        return (count, values)
    }

    /// Bucket 0 holds up to 2^firstOctave ns; then each doubling is split in `subBuckets` equal parts.
    static func bucket(_ nanoseconds: UInt64) -> Int {
        guard nanoseconds > 1 << firstOctave else { return 0 }
        let octave = (63 - (nanoseconds - 1).leadingZeroBitCount)  // 2^octave < ns <= 2^(octave+1)
        guard octave < firstOctave + octaves else { return perOperation - 1 }
        let offset = (nanoseconds - 1) - (1 << octave)
        let sub = Int(offset >> (octave - 3))  // subBuckets == 8 == 2^3
        return 1 + (octave - firstOctave) * subBuckets + sub
    }

    /// The largest latency a bucket holds (the last one's is its lower bound: it holds everything longer).
    static func upperBound(_ bucket: Int) -> UInt64 {
        guard bucket > 0 else { return 1 << firstOctave }
        guard bucket < perOperation - 1 else { return 1 << (firstOctave + octaves) }
        let octave = firstOctave + (bucket - 1) / subBuckets
        let sub = UInt64((bucket - 1) % subBuckets + 1)
        return (1 << octave) + sub << (octave - 3)
    }
}
