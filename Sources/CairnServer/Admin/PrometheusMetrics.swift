import CairnCore
import CoreMetrics
import Prometheus

/// One server process's metrics in a Prometheus registry (swift-prometheus), rendered in Prometheus' text format for
/// the admin listener's `/metrics`. Its `factory` goes to the store and the server (`Store.Configuration.metrics`,
/// `ServerConfiguration.metrics`); each metric gets the help text and buckets of its `MetricDefinition`.
public final class PrometheusMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    public let factory: any MetricsFactory

    /// A registry for the metrics `definitions` describe (`CairnServer.metricDefinitions`).
    public init(definitions: [MetricDefinition]) {
        factory = DefinedMetricsFactory(
            registry: registry,
            definitions: Dictionary(definitions.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first }))
    }

    /// Every metric, in Prometheus' text exposition format (version 0.0.4).
    func exposition() -> [UInt8] { registry.emitToBuffer() }
}

/// Makes swift-metrics handlers in the registry as their definitions say: with `# HELP` text, and a histogram's
/// buckets. swift-prometheus' own factory gives neither per metric.
private struct DefinedMetricsFactory: MetricsFactory {
    let registry: PrometheusCollectorRegistry
    let definitions: [String: MetricDefinition]

    private func descriptor(_ label: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: label, unitName: "", helpText: definitions[label]?.help ?? "")
    }

    private func buckets(_ label: String) -> [Double] {
        guard case .histogram(let buckets) = definitions[label]?.kind else { return [0.001, 0.01, 0.1, 1, 10] }
        return buckets
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return registry.makeGauge(descriptor: descriptor(label), labels: dimensions) }
        return registry.makeValueHistogram(descriptor: descriptor(label), labels: dimensions, buckets: buckets(label))
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        registry.makeDurationHistogram(
            descriptor: descriptor(label), labels: dimensions,
            buckets: buckets(label).map { .nanoseconds(Int64(($0 * 1e9).rounded())) })
    }

    func destroyCounter(_ handler: any CounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyRecorder(_ handler: any RecorderHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
        if let histogram = handler as? ValueHistogram { registry.unregisterValueHistogram(histogram) }
    }

    func destroyMeter(_ handler: any MeterHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
    }

    func destroyTimer(_ handler: any TimerHandler) {
        if let histogram = handler as? DurationHistogram { registry.unregisterDurationHistogram(histogram) }
    }
}
