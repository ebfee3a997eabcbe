extension Int64 {
    /// `self + other`, held at `Int64.max` / `Int64.min` instead of trapping: for times, deadlines and sizes
    /// computed from stored or client-supplied values, which must never take the server down.
    @inlinable
    public func saturatingAdding(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        guard overflow else { return sum }
        return other > 0 ? .max : .min
    }
}
