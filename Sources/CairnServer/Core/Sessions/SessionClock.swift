import CairnCore

/// The two clocks sessions need. Deadlines run on the monotonic one, so a step of the wall clock (NTP, an
/// operator) can neither expire every live session at once nor keep dead ones alive. What is persisted for
/// restarts is wall-clock, since the monotonic clock starts again with the machine. Injectable for tests.
struct SessionClock: Sendable {
    var monotonicMilliseconds: @Sendable () -> Int64
    var wallMilliseconds: @Sendable () -> Int64

    static let system = SessionClock(
        monotonicMilliseconds: { Int64(SystemClock.monotonicMilliseconds()) },
        wallMilliseconds: { Int64(SystemClock.wallMilliseconds()) })

    /// The monotonic reading that stands for wall-clock time `wall`, as of now.
    func monotonic(fromWall wall: Int64) -> Int64 {
        monotonicMilliseconds().saturatingAdding(wall.saturatingAdding(-wallMilliseconds()))
    }

    /// The wall-clock time that monotonic reading `monotonic` stands for, as of now.
    func wall(fromMonotonic monotonic: Int64) -> Int64 {
        wallMilliseconds().saturatingAdding(monotonic.saturatingAdding(-monotonicMilliseconds()))
    }
}
