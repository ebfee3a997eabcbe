/// The fine latency buckets the `stats` reply's quantiles come from: eight per doubling from 1 µs to about a minute, so
/// a quantile is an upper bound within 1/8 of the truth. (Prometheus gets coarse buckets and computes quantiles
/// itself.)
enum LatencyBuckets {
    private static let subBuckets = 8
    private static let firstOctave = 10  // 2^10 ns ≈ 1 µs
    private static let octaves = 26  // up to 2^36 ns ≈ 69 s
    /// The last counts everything longer.
    static let count = octaves * subBuckets + 2

    /// Bucket 0 holds up to 2^firstOctave ns; then each doubling is split in `subBuckets` equal parts.
    static func bucket(_ nanoseconds: UInt64) -> Int {
        guard nanoseconds > 1 << firstOctave else { return 0 }
        let octave = (63 - (nanoseconds - 1).leadingZeroBitCount)  // 2^octave < ns <= 2^(octave+1)
        guard octave < firstOctave + octaves else { return count - 1 }
        let offset = (nanoseconds - 1) - (1 << octave)
        let sub = Int(offset >> (octave - 3))  // subBuckets == 8 == 2^3
        return 1 + (octave - firstOctave) * subBuckets + sub
    }

    /// The largest latency a bucket holds (the last one's is its lower bound: it holds everything longer).
    static func upperBound(_ bucket: Int) -> UInt64 {
        guard bucket > 0 else { return 1 << firstOctave }
        guard bucket < count - 1 else { return 1 << (firstOctave + octaves) }
        let octave = firstOctave + (bucket - 1) / subBuckets
        let sub = UInt64((bucket - 1) % subBuckets + 1)
        return (1 << octave) + sub << (octave - 3)
    }

    /// The latencies (ns, upper bounds) below which the fractions `quantiles` of `histogram`'s counts fall; nil when
    /// it is empty.
    static func quantiles(_ quantiles: [Double], of histogram: some Collection<UInt64>) -> [UInt64]? {
        let total = histogram.reduce(0, +)
        guard total > 0 else { return nil }
        return quantiles.map { quantile in
            let rank = max(1, UInt64((quantile * Double(total)).rounded(.up)))
            var seen: UInt64 = 0
            for (bucket, n) in histogram.enumerated() {
                seen += n
                if seen >= rank { return upperBound(bucket) }
            }
            return upperBound(count - 1)
        }
    }
}
