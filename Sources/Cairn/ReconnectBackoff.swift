/// How long the client waits before its next connection attempt: a ceiling that doubles from `initial` to
/// `maximum` with every failed attempt, each wait drawn at random from the ceiling's upper half ("equal jitter"), so
/// that the clients a server restart disconnected at once do not all come back at the same instants.
struct ReconnectBackoff {
    let initial: Duration
    let maximum: Duration
    private var ceiling: Duration

    init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = max(initial, maximum)
        ceiling = initial
    }

    /// The wait before the next attempt; the one after will be drawn under twice the ceiling (up to `maximum`).
    mutating func next(using generator: inout some RandomNumberGenerator) -> Duration {
        let half = ceiling / 2
        let wait = half + half * Double.random(in: 0...1, using: &generator)
        ceiling = min(ceiling * 2, maximum)
        return wait
    }

    /// After a connection that got its session: the next wait starts from `initial` again.
    mutating func reset() { ceiling = initial }
}
