import Foundation

/// A fresh directory under the system temp dir, removed when the value is dropped.
public final class TemporaryDirectory: Sendable {
    public let path: String

    public init(_ label: String = "cairn") {
        let base = FileManager.default.temporaryDirectory.path
        let path = base + "/\(label)-\(getpid())-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        self.path = path
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// `path/name`.
    public func appending(_ name: String) -> String { path + "/" + name }
}
