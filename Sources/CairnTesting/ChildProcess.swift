import Foundation
import Synchronization

/// A child process whose standard output is read line by line, for crash drills and servers under test.
public final class ChildProcess: Sendable {
    /// What a child wrote: stdout split into lines, stderr as text.
    private final class Output: Sendable {
        let state = Mutex<(lines: [String], partial: String, closed: Bool, stderr: String)>(([], "", false, ""))

        func stdout(_ data: Data) {
            state.withLock { state in
                if data.isEmpty {
                    // A last line without a newline still counts.
                    if !state.partial.isEmpty { state.lines.append(state.partial) }
                    state.partial = ""
                    state.closed = true
                    return
                }
                state.partial += String(decoding: data, as: UTF8.self)
                while let newline = state.partial.firstIndex(of: "\n") {
                    state.lines.append(String(state.partial[..<newline]))
                    state.partial = String(state.partial[state.partial.index(after: newline)...])
                }
            }
        }

        func stderr(_ data: Data) { state.withLock { $0.stderr += String(decoding: data, as: UTF8.self) } }
    }

    private let process: Process
    private let captured = Output()
    /// Kept for the process's life: a pipe freed while its readability handler is registered takes its
    /// file descriptor out from under libdispatch.
    private let pipes: (out: Pipe, err: Pipe)

    public init(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        self.process = process
        pipes = (out, err)
        let captured = self.captured
        // At end of file each handler unregisters itself, which is how a FileHandle's dispatch source ends cleanly.
        out.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil }
            captured.stdout(data)
        }
        err.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
            } else {
                captured.stderr(data)
            }
        }
        try process.run()
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
            if !process.isRunning && captured.state.withLock({ $0.closed }) { return predicate(output) }
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
        _ = waitForOutput(seconds: 10) { _ in captured.state.withLock { $0.closed } }
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
}

extension ChildProcess {
    /// Runs a built executable to completion.
    public static func run(_ executable: String, _ arguments: [String]) throws -> CommandResult {
        let child = try ChildProcess(BuiltProducts.path(of: executable), arguments)
        let status = child.wait()
        return CommandResult(status: status, output: child.output, errorOutput: child.errorOutput)
    }
}
