import CairnTesting
import Foundation
import Testing

@Suite("The server process")
struct ProcessTests {
    let directory = TemporaryDirectory("cairn-process")

    /// BENCHMARKS.md's figures are measured on jemalloc; a build that lost it would still pass every other test.
    @Test("allocates with jemalloc, and says so in its first log line")
    func jemalloc() throws {
        let server = try ServerProcess(dataDirectory: directory.appending("data"))
        // Read to the end: /proc files report size 0, and String(contentsOfFile:) stops at its first read.
        let file = try #require(FileHandle(forReadingAtPath: "/proc/\(server.pid)/maps"))
        let maps = String(decoding: try file.readToEnd() ?? Data(), as: UTF8.self)
        #expect(maps.contains("libjemalloc.so"))
        let first = try #require(server.log.first)
        #expect(first.contains("allocator"))
        #expect(first.range(of: #"jemalloc=\d+\.\d+\.\d+"#, options: .regularExpression) != nil)
    }
}
