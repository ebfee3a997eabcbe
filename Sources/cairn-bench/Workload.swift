import ArgumentParser

/// What a benchmark run does.
enum Workload: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// Creates of unique paths.
    case create
    /// setData on a preloaded key chosen at random.
    case set
    /// getData on a preloaded key chosen at random.
    case get
    case exists
    /// Children of a node with 100 children.
    case children
    /// Ephemeral sequential create, then delete of the same node: service-registry churn (one cycle = both).
    case registry
    /// get or set by --read-ratio.
    case mixed
    /// Time from a set to its event at every watcher.
    case watch

    var needsKeys: Bool { [.set, .get, .exists, .mixed].contains(self) }

    /// Whether the workload changes the tree (and so has group commits worth reporting).
    var writes: Bool { ![.get, .exists, .children].contains(self) }
}

/// How the load generator's connections wait for replies.
enum ClientKind: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// Event-loop connections (SwiftNIO), pipelined: the load generator for throughput.
    case events
    /// A thread per connection sleeping in `read`: what a synchronous client sees.
    case blocking
    /// A thread per connection spinning on a non-blocking `read`: the server's latency without the
    /// client's wake-up.
    case busyPoll = "busy-poll"
}
