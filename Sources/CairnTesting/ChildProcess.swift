import Foundation
import Synchronization

/// A child process whose standard output is read line by line, for crash drills and servers under test.
public final class ChildProcess: Sendable {
    /// What a child wrote: stdout split into lines, stderr as text.
    private final class Output: Sendable {
        let state = Mutex<(lines: [String], partial: String, stderr: String, openStreams: Int)>(([], "", "", 2))

        func stdout(_ data: Data) {
            state.withLock { state in
                state.partial += String(decoding: data, as: UTF8.self)
                while let newline = state.partial.firstIndex(of: "\n") {
                    state.lines.append(String(state.partial[..<newline]))
                    state.partial = String(state.partial[state.partial.index(after: newline)...])
                }
            }
        }

        func stderr(_ data: Data) { state.withLock { $0.stderr += String(decoding: data, as: UTF8.self) } }

        func ended(stdout: Bool) {
            state.withLock { state in
                // A last line without a newline still counts.
                if stdout && !state.partial.isEmpty {
                    state.lines.append(state.partial)
                    state.partial = ""
                }
                state.openStreams -= 1
            }
        }

        var closed: Bool { state.withLock { $0.openStreams == 0 } }
    }

    private let process: Process
    private let captured = Output()

    public init(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        self.process = process
        try process.run()
        let captured = self.captured
        Self.read(out.fileHandleForReading, into: captured.stdout, ended: { captured.ended(stdout: true) })
        Self.read(err.fileHandleForReading, into: captured.stderr, ended: { captured.ended(stdout: false) })
    }

    /// Reads `handle` to end of file on a thread of its own with blocking reads. (FileHandle's readability
    /// handler on Linux sometimes missed the end of file or the last data, which made tests flaky.) The
    /// thread reads a duplicate of the descriptor, so it stays valid whatever happens to the `Pipe`.
    private static func read(
        _ handle: FileHandle, into sink: @escaping @Sendable (Data) -> Void, ended: @escaping @Sendable () -> Void
    ) {
        let descriptor = dup(handle.fileDescriptor)
        Thread.detachNewThread {
            defer {
                close(descriptor)
                ended()
            }
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { return }
                sink(Data(buffer[..<count]))
            }
        }
    }

    public var pid: Int32 { process.processIdentifier }

    /// Whole lines printed so far.
    public var output: [String] { captured.state.withLock { $0.lines } }

    /// What the process wrote to standard error so far.
    public var errorOutput: String { captured.state.withLock { $0.stderr } }

    /// Waits (polling) until `predicate` holds for the lines so far, or `seconds` pass; returns whether it held.
    public func waitForOutput(seconds: Double, _ predicate: ([String]) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if predicate(output) { return true }
            if !process.isRunning && captured.closed { return predicate(output) }
            usleep(2_000)
        }
        return predicate(output)
    }

    public func kill(signal: Int32 = SIGKILL) {
        Foundation.kill(process.processIdentifier, signal)
    }

    /// Waits for the process to end and its output to drain; returns its exit status.
    @discardableResult
    public func wait() -> Int32 {
        process.waitUntilExit()
        _ = waitForOutput(seconds: 10) { _ in captured.closed }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
    }
}

/// What a finished command printed and how it exited.
public struct CommandResult: Sendable {
    public var status: Int32
    public var output: [String]
    public var errorOutput: String

    public init(status: Int32, output: [String], errorOutput: String) {
        (self.status, self.output, self.errorOutput) = (status, output, errorOutput)
    }
}

extension ChildProcess {
    /// Runs a built executable to completion.
    public static func run(_ executable: String, _ arguments: [String]) throws -> CommandResult {
        let child = try ChildProcess(BuiltProducts.path(of: executable), arguments)
        let status = child.wait()
        return CommandResult(status: status, output: child.output, errorOutput: child.errorOutput)
    }
}
