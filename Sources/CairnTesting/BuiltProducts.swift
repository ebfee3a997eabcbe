import Foundation

/// Paths of executables built by the same `swift build`/`swift test` run as the tests.
public enum BuiltProducts {
    /// The build products directory: where the test bundle itself lives.
    public static var directory: String {
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var dir = me.deletingLastPathComponent()
        // `swift test` runs `<products>/<Package>PackageTests.xctest`, a file in the products directory.
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("cairn-store-drill").path),
            dir.path != "/"
        {
            dir = dir.deletingLastPathComponent()
        }
        return dir.path
    }

    public static func path(of executable: String) -> String { directory + "/" + executable }
}
