import Foundation
import Synchronization

/// A long command's progress on stderr while it runs — nodes (for a tree), bytes, rate and, when the total is known,
/// the time left — redrawn at most five times a second, and only on a terminal (never with `--json`).
final class Progress: Sendable {
    private struct State {
        var nodes = 0
        var bytes = 0
        var lastDrawn: UInt64 = 0
        var drawn = false
    }

    private let verb: String
    private let quiet: Bool
    private let started = DispatchTime.now().uptimeNanoseconds
    /// What the rest is measured against: the total of `nodes` or of `bytes`, whichever is known.
    private let total: Total?
    private let counting: Counting
    private let state = Mutex(State())

    /// What moves: nodes of a tree (with their bytes), or bytes alone (a file).
    enum Counting {
        case nodes, bytes
    }

    enum Total {
        case nodes(Int)
        case bytes(Int)
    }

    init(_ verb: String, total: Total? = nil, counting: Counting = .nodes, json: Bool) {
        self.verb = verb
        self.total = total
        self.counting = counting
        quiet = json || isatty(2) == 0
    }

    /// Seconds since the command began.
    var elapsed: Double { Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 }

    func update(nodes: Int, bytes: Int) {
        guard !quiet else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        let line: String? = state.withLock { s in
            s.nodes = nodes
            s.bytes = bytes
            guard now - s.lastDrawn >= 200_000_000 else { return nil }
            s.lastDrawn = now
            s.drawn = true
            return describe(nodes: nodes, bytes: bytes)
        }
        if let line { FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8)) }
    }

    /// Clears the progress line.
    func done() {
        if state.withLock({ $0.drawn }) { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    /// "N nodes, M MB, R nodes/s[, ETA s]", or for bytes alone "M MB, R MB/s[, ETA s]".
    private func describe(nodes: Int, bytes: Int) -> String {
        let seconds = max(elapsed, 0.001)
        var line =
            switch counting {
            case .nodes: "\(verb) \(nodes) nodes, \(Self.megabytes(bytes)), \(Self.rate(Double(nodes) / seconds))"
            case .bytes:
                "\(verb) \(Self.megabytes(bytes)), " + String(format: "%.1f MB/s", Double(bytes) / 1_048_576 / seconds)
            }
        let done: (Int, Int)? =
            switch total {
            case .nodes(let total): (nodes, total)
            case .bytes(let total): (bytes, total)
            case nil: nil
            }
        if let (done, total) = done, done > 0, total > done {
            line += String(format: ", %.0f s left", seconds * Double(total - done) / Double(done))
        }
        return line
    }

    /// The closing line's figures: "in S s (R nodes/s)".
    func summary(nodes: Int) -> String {
        String(format: "in %.2f s", elapsed) + " (\(Self.rate(Double(nodes) / max(elapsed, 0.001))))"
    }

    static func megabytes(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1_048_576) }

    static func rate(_ perSecond: Double) -> String {
        perSecond >= 10_000
            ? String(format: "%.0fk nodes/s", perSecond / 1000) : String(format: "%.0f nodes/s", perSecond)
    }
}
