import CairnTesting
import Testing

@testable import Cairn

@Suite("Reconnect backoff: exponential, jittered, reset by a session")
struct ReconnectBackoffTests {
    @Test("each wait lies in the upper half of a ceiling that doubles up to the maximum; reset starts over")
    func bounds() {
        var backoff = ReconnectBackoff(initial: .milliseconds(50), maximum: .seconds(2))
        var random = SplitMix64(seed: 7)
        let ceilings: [Duration] = [50, 100, 200, 400, 800, 1600, 2000, 2000].map { .milliseconds($0) }
        for ceiling in ceilings {
            let wait = backoff.next(using: &random)
            #expect(wait >= ceiling / 2 && wait <= ceiling, "\(wait) against \(ceiling)")
        }
        backoff.reset()
        #expect(backoff.next(using: &random) <= .milliseconds(50))
    }

    @Test("clients disconnected together do not wait alike (what a fixed backoff did)")
    func spread() {
        let waits = (0..<20).map { seed in
            var backoff = ReconnectBackoff(initial: .milliseconds(50), maximum: .seconds(2))
            var random = SplitMix64(seed: UInt64(seed))
            return (0..<6).map { _ in backoff.next(using: &random) }.last!
        }
        // Twenty clients' sixth waits (ceiling 1.6 s) spread over at least a quarter of the 0.8 s they can span.
        #expect(waits.max()! - waits.min()! > .milliseconds(200), "\(waits)")
    }
}
