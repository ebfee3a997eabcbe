import Foundation

/// A tmpfs of a given size mounted at a directory, for filling a disk for real: writes past its size fail
/// with ENOSPC. Needs root (or passwordless sudo), as `mount` does.
public final class SmallFilesystem: Sendable {
    public let path: String

    /// Mounts a `megabytes`-sized tmpfs at `path`, creating the directory.
    public init(at path: String, megabytes: Int) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try Self.mount(["-t", "tmpfs", "-o", "size=\(megabytes)m,mode=0700", "tmpfs", path])
    }

    /// Grows (or shrinks) the filesystem in place, keeping its files: "freeing space" on a full disk.
    public func resize(megabytes: Int) throws {
        try Self.mount(["-o", "remount,size=\(megabytes)m", path])
    }

    deinit { _ = try? Self.run(["umount", "-l", path]) }

    public enum MountError: Error { case failed(String) }

    private static func mount(_ arguments: [String]) throws {
        let result = try run(["mount"] + arguments)
        guard result.status == 0 else {
            throw MountError.failed(
                "mount \(arguments.joined(separator: " ")): \(result.errorOutput) (this test needs root or sudo -n)")
        }
    }

    private static func run(_ command: [String]) throws -> CommandResult {
        let asRoot = getuid() == 0 ? command : ["sudo", "-n"] + command
        let child = try ChildProcess("/usr/bin/env", asRoot)
        let status = child.wait()
        return CommandResult(status: status, output: child.output, errorOutput: child.errorOutput)
    }
}
