/// A metric as it is exported: its name (Prometheus conventions: `cairn_` prefix, base units, `_total` on counters),
/// what it means, and for a histogram its bucket bounds. Each module that records metrics lists its own; the server
/// exports every list (and docs/operations.md documents each name).
public struct MetricDefinition: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case counter, gauge
        /// Bucket upper bounds, in the metric's unit (seconds for a duration).
        case histogram([Double])
    }

    public var name: String
    public var kind: Kind
    public var help: String

    public init(_ name: String, _ kind: Kind, _ help: String) {
        self.name = name
        self.kind = kind
        self.help = help
    }
}
