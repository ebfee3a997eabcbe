import Foundation

/// Paths of executables built by the same `swift build`/`swift test` run as the tests.
public enum BuiltProducts {
    /// The build products directory: `swift test` runs a test bundle that lives there, beside the executables.
    public static var directory: String {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().path
    }

    public static func path(of executable: String) -> String { directory + "/" + executable }
}
