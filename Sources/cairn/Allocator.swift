import CJemalloc

/// The allocator the server runs on: jemalloc, linked in place of glibc's malloc (see Package.swift).
enum Allocator {
    /// jemalloc's version string (e.g. "5.3.0-0-g54eaed1d8b56b1aa528be3bdd1877e59c56fa90c"). Asking for it
    /// is also what keeps the library linked where the linker drops libraries nothing refers to.
    static var version: String {
        var text: UnsafePointer<CChar>?
        var length = MemoryLayout<UnsafePointer<CChar>?>.size
        guard mallctl("version", &text, &length, nil, 0) == 0, let text else { return "unknown" }
        return String(cString: text)
    }
}
