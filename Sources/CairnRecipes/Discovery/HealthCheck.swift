import AsyncHTTPClient
import NIOCore
import NIOPosix

/// A check of an instance's own health, run by `HealthCheckedRegistration` every interval (the checks Consul's agent
/// runs): it passes, or fails with a reason.
public struct HealthCheck: Sendable {
    private let body: @Sendable (_ timeout: Duration) async -> String?

    public init(_ body: @escaping @Sendable (_ timeout: Duration) async -> String?) { self.body = body }

    /// Runs the check once, within `timeout`: nil when it passed, else why it failed.
    public func outcome(timeout: Duration) async -> String? { await body(timeout) }

    /// A Swift closure: passes when it returns true; a thrown error or false fails it. Past the timeout it fails and
    /// its task is cancelled.
    public static func custom(_ check: @escaping @Sendable () async throws -> Bool) -> HealthCheck {
        HealthCheck { timeout in
            await withTaskGroup(of: String?.self) { group in
                group.addTask {
                    do {
                        return try await check() ? nil : "the check returned false"
                    } catch {
                        return "the check threw \(error)"
                    }
                }
                group.addTask {
                    try? await Task.sleep(for: timeout)
                    return "no answer within \(timeout)"
                }
                defer { group.cancelAll() }
                return await group.next() ?? nil
            }
        }
    }

    /// An HTTP GET of `url` through AsyncHTTPClient's shared client: passes on a 2xx status.
    public static func http(_ url: String) -> HealthCheck {
        HealthCheck { timeout in
            do {
                let response = try await HTTPClient.shared.execute(
                    HTTPClientRequest(url: url), timeout: TimeAmount(timeout))
                return (200..<300).contains(response.status.code) ? nil : "HTTP \(response.status.code)"
            } catch {
                return "GET \(url): \(error)"
            }
        }
    }

    /// A TCP connection to `host:port`: passes when it is accepted.
    public static func tcp(host: String, port: Int) -> HealthCheck {
        HealthCheck { timeout in
            do {
                let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .connectTimeout(TimeAmount(timeout))
                    .connect(host: host, port: port).get()
                try? await channel.close()
                return nil
            } catch {
                return "connecting to \(host):\(port): \(error)"
            }
        }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// Whether a checked instance is up, from its checks' consecutive results: down after `failuresBeforeDown` failures
/// in a row, up again after `successesBeforeUp` passes in a row. A struct fed results, tested without a clock.
struct HealthTally {
    let failuresBeforeDown: Int
    let successesBeforeUp: Int
    private(set) var up = true
    private var streak = 0

    init(failuresBeforeDown: Int, successesBeforeUp: Int) {
        self.failuresBeforeDown = max(failuresBeforeDown, 1)
        self.successesBeforeUp = max(successesBeforeUp, 1)
    }

    /// Counts one result; returns the new state when it changes.
    mutating func record(passed: Bool) -> Bool? {
        guard passed != up else {
            streak = 0
            return nil
        }
        streak += 1
        guard streak >= (up ? failuresBeforeDown : successesBeforeUp) else { return nil }
        up.toggle()
        streak = 0
        return up
    }
}
