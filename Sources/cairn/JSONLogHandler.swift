import Foundation
import Logging
import Synchronization

/// `--log-format json`: one JSON object per line on standard output, for log shippers: `timestamp` (ISO 8601, UTC,
/// ms), `level`, `label`, `source` (the module that logged), `message` and `metadata` (the handler's, the
/// provider's and the call's, merged in that order).
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    /// Lines from every handler go out whole, one at a time.
    private static let output = Mutex(())

    init(label: String) { self.label = label }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        merged.merge(metadataProvider?.get() ?? [:]) { $1 }
        merged.merge(event.metadata ?? [:]) { $1 }
        let object: [String: Any] = [
            "timestamp": Date.now.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)),
            "level": event.level.rawValue, "label": label, "source": event.source,
            "message": event.message.description,
            "metadata": merged.mapValues(Self.json),
        ]
        guard
            var line = try? JSONSerialization.data(
                withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return }
        line.append(UInt8(ascii: "\n"))
        Self.output.withLock { _ in try? FileHandle.standardOutput.write(contentsOf: line) }
    }

    private static func json(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let text): text
        case .stringConvertible(let convertible): convertible.description
        case .array(let values): values.map(json)
        case .dictionary(let values): values.mapValues(json)
        }
    }
}
