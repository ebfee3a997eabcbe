import ArgumentParser
import CLinuxFileIO
import CairnCore
import CairnStore
import Dispatch
import Glibc
import Logging

/// Measures the storage engine alone: durable creates per second with 256-byte data when requests
/// arrive in groups of 1, 10, 100 and 1000 (each group submitted at once and awaited, so the writer
/// commits it with about one fdatasync), next to the machine's raw fdatasync rate: plain appends, and appends
/// written as the WAL writes them (direct I/O into room reserved ahead).
@main
struct StoreBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cairn-store-bench", abstract: "Storage-engine throughput next to the raw fdatasync rate.")

    @Option(help: "Directory for the benchmark's data (a fresh subdirectory is made and removed).")
    var directory: String = "."
    @Option(parsing: .upToNextOption, help: "Group sizes to run.") var batchSizes: [Int] = [1, 10, 100, 1000]
    @Option(help: "Seconds per measurement.") var seconds: Double = 3
    @Option(help: "Bytes of data per znode.") var dataSize: Int = 256

    func run() throws {
        let root = directory + "/cairn-store-bench-\(getpid())"
        mkdir(root, 0o755)
        defer { _ = system("rm -rf '\(root)'") }
        let rate = try rawFdatasyncRate(in: root, direct: false)
        print("raw fdatasync (append \(dataSize) B + fdatasync): \(Int(rate)) /s, \(format(1e6 / rate)) µs each")
        let direct = try rawFdatasyncRate(in: root, direct: true)
        print(
            "raw direct write + fdatasync (\(dataSize) B appended as the WAL does: its 4 KiB block, O_DIRECT, "
                + "in reserved room): \(Int(direct)) /s, \(format(1e6 / direct)) µs each")
        print("group   changes/s   fsyncs/s   changes/fsync   µs/fsync")
        for size in batchSizes { try measure(groupSize: size, in: root + "/g\(size)") }
    }

    private func measure(groupSize: Int, in path: String) throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        var configuration = Store.Configuration(dataDirectory: path)
        configuration.snapshotEveryChanges = 0
        configuration.snapshotEveryMilliseconds = 0
        let store = try Store.open(configuration, logger: logger)
        defer { store.close() }
        let data = [UInt8](repeating: 0x61, count: dataSize)
        let start = monotonicSeconds()
        var next = 0
        while monotonicSeconds() - start < seconds {
            let done = DispatchGroup()
            for _ in 0..<groupSize {
                done.enter()
                store.submit(.operation(.create(path: "/n\(next)", data: data, kind: .persistent, sequential: false))) {
                    if case .failure(let error) = $0 { fatalError("\(error)") }
                    done.leave()
                }
                next += 1
            }
            done.wait()
        }
        let elapsed = monotonicSeconds() - start
        let stats = store.writerStatistics
        let perFsync = Double(stats.changes) / Double(max(stats.batches, 1))
        print(
            pad("\(groupSize)", 5), pad(format(Double(stats.changes) / elapsed), 11),
            pad(format(Double(stats.batches) / elapsed), 10), pad(format(perFsync), 15),
            pad(format(Double(stats.fsyncNanoseconds) / Double(max(stats.batches, 1)) / 1000), 10))
    }

    /// Durable appends per second: `dataSize` bytes appended then fdatasync'd, either plainly (the file grows) or
    /// the WAL's way (`direct`): the 4 KiB block holding the end written with O_DIRECT into a preallocated file.
    private func rawFdatasyncRate(in root: String, direct: Bool) throws -> Double {
        let path = root + "/fsync-probe"
        let flags = O_WRONLY | O_CREAT | (direct ? 0 : O_APPEND)
        let fd = direct ? cairn_open_direct(path, flags, 0o644) : open(path, flags, 0o644)
        guard fd >= 0 else { throw ValidationError("cannot create \(path) (\(String(cString: strerror(errno))))") }
        defer {
            close(fd)
            unlink(path)
        }
        let block = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 4096)
        defer { block.deallocate() }
        block.initializeMemory(as: UInt8.self, repeating: 0x62)
        if direct { _ = posix_fallocate(fd, 0, 64 << 20) }
        let start = monotonicSeconds()
        var count = 0
        while monotonicSeconds() - start < seconds {
            if direct {
                _ = pwrite(fd, block.baseAddress, 4096, off_t((count * dataSize % (64 << 20)) & ~4095))
            } else {
                _ = write(fd, block.baseAddress, dataSize)
            }
            fdatasync(fd)
            count += 1
        }
        return Double(count) / (monotonicSeconds() - start)
    }
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func format(_ value: Double) -> String {
    value >= 100 ? String(Int(value.rounded())) : String(Double(Int(value * 10)) / 10)
}

func pad(_ s: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
