import CairnCore
import CairnStore
import Synchronization
import Testing

@testable import CairnServer

/// Session deadlines against a clock the test moves: no sockets, no sleeps.
@Suite("SessionTable: deadlines on the monotonic clock, persisted as wall-clock times")
struct SessionTableTests {
    /// Both readings, moved by hand.
    final class ManualClock: Sendable {
        let now = Mutex((monotonic: Int64(5_000), wall: Int64(1_800_000_000_000)))

        var clock: SessionClock {
            SessionClock(
                monotonicMilliseconds: { self.now.withLock { $0.monotonic } },
                wallMilliseconds: { self.now.withLock { $0.wall } })
        }

        /// Time passes: both clocks move on.
        func pass(_ milliseconds: Int64) {
            now.withLock {
                $0.monotonic += milliseconds
                $0.wall += milliseconds
            }
        }

        /// The wall clock is stepped (NTP, an operator); the monotonic one is not.
        func stepWall(_ milliseconds: Int64) { now.withLock { $0.wall += milliseconds } }
    }

    let id = SessionID(rawValue: 0xA1)
    let password: [UInt8] = Array(repeating: 9, count: 16)

    func table(_ clock: ManualClock) -> SessionTable {
        let sessions = SessionTable(clock: clock.clock)
        sessions.open(id, timeoutMilliseconds: 10_000, passwordHash: SessionTable.hash(password), connection: 1)
        return sessions
    }

    @Test("a wall-clock step forward or back neither expires a live session nor keeps a dead one")
    func wallClockSteps() {
        let clock = ManualClock()
        let sessions = table(clock)
        clock.stepWall(3_600_000)
        clock.pass(9_000)
        #expect(sessions.expire().isEmpty, "an hour's step forward expired a session with 1 s left")
        #expect(sessions.touch(id))
        clock.stepWall(-7_200_000)
        clock.pass(10_001)
        #expect(sessions.expire().map(\.0) == [id], "a step back kept a session past its timeout")
        #expect(!sessions.touch(id), "an expiring session cannot be revived")
    }

    @Test("persisted deadlines are wall-clock: now on the wall clock plus what is left")
    func persistedTimes() throws {
        let clock = ManualClock()
        let sessions = table(clock)
        clock.pass(4_000)
        clock.stepWall(60_000)
        let times = try #require(sessions.times().first)
        let wallNow = clock.now.withLock { $0.wall }
        #expect(times.deadline == wallNow + 6_000)
    }

    @Test("a restored session gets its window once; resuming it ends the grace and reports the time to persist")
    func restoreAndResume() throws {
        let clock = ManualClock()
        let sessions = SessionTable(clock: clock.clock)
        let wallNow = clock.now.withLock { $0.wall }
        // Its recorded deadline passed during the downtime: it gets one timeout from now.
        sessions.restore(
            SessionRecord(
                id: id, timeoutMilliseconds: 10_000, passwordHash: SessionTable.hash(password),
                deadline: wallNow - 30_000, graceGranted: false))
        clock.pass(9_999)
        #expect(sessions.expire().isEmpty)
        #expect(sessions.resume(id, password: [1], connection: 2) == nil, "a wrong password")
        let resumed = try #require(sessions.resume(id, password: password, connection: 2))
        #expect(resumed.timeout == 10_000 && resumed.previous == nil)
        #expect(resumed.endedGrace == SessionTimes(id: id, deadline: wallNow + 9_999 + 10_000, graceGranted: false))
        clock.pass(10_001)
        #expect(sessions.expire().map(\.1) == [2], "expired with the connection it was resumed on")
    }
}
