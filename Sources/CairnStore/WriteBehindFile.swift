import CLinuxFileIO
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A file written once, front to back, while the WAL must keep its fsyncs quick on the same disk (a
/// snapshot copy): every `window` bytes are sent to the disk as they are written and waited for one window
/// later, then dropped from the page cache. Hundreds of MB never pile up dirty for one final fsync that the
/// WAL's fdatasync would queue behind. The CRC-32C of the bytes is kept as they pass.
struct WriteBehindFile {
    let fd: Int32
    let path: String
    private let window: Int
    private(set) var size = 0
    private(set) var checksum = CRC32C()
    /// Where the window not yet waited for starts.
    private var flushedUpTo = 0

    init(fd: Int32, path: String, window: Int = 8 << 20) {
        self.fd = fd
        self.path = path
        self.window = window
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) throws {
        try FileSystem.write(fd: fd, bytes, at: size, path: path)
        checksum.update(bytes)
        size += bytes.count
        while size - flushedUpTo >= 2 * window {
            // Start the newest full window on its way; wait for the one before it and forget it.
            _ = cairn_start_writeback(fd, Int64(flushedUpTo + window), Int64(window))
            _ = cairn_wait_writeback(fd, Int64(flushedUpTo), Int64(window))
            _ = posix_fadvise(fd, off_t(flushedUpTo), off_t(window), POSIX_FADV_DONTNEED)
            flushedUpTo += window
        }
    }

    /// Sends the dirty pages of the first `length` bytes of `fd` to disk a window at a time, waiting for each:
    /// what a checkpoint's fsync would otherwise write in one burst that the WAL's fdatasync queues behind.
    static func writeBack(fd: Int32, length: Int, window: Int = 8 << 20) {
        for offset in stride(from: 0, to: length, by: window) {
            _ = cairn_wait_writeback(fd, Int64(offset), Int64(min(window, length - offset)))
        }
    }

    /// Makes the whole file durable (`sync_file_range` is only a hint for the pace: this is the guarantee).
    func sync() throws {
        try FileSystem.sync(fd: fd, path: path)
    }

    /// Runs `produce` on a thread of its own with the write end of a pipe, appending what it writes here
    /// until it returns (the pipe is then closed). If appending fails, the read end is closed: the producer's
    /// next write fails with EPIPE (SIGPIPE is blocked on its thread, and on threads it starts), and the first
    /// error of either side is thrown.
    mutating func appendAll(writtenBy produce: @escaping @Sendable (Int32) throws -> Void) throws {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw FileSystem.fail(path, "pipe") }
        var readEnd: Int32? = ends[0]
        let writeEnd = ends[1]
        _ = cairn_grow_pipe(writeEnd, 1 << 20)
        defer { if let readEnd { close(readEnd) } }
        let produced = Mutex<Result<Void, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        DedicatedThread.start {
            var pipeSignal = sigset_t()
            sigemptyset(&pipeSignal)
            sigaddset(&pipeSignal, SIGPIPE)
            pthread_sigmask(SIG_BLOCK, &pipeSignal, nil)
            let result = Result { try produce(writeEnd) }
            close(writeEnd)
            produced.withLock { $0 = result }
            done.signal()
        }
        var failure: (any Error)?
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while let fd = readEnd {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n == 0 { break }
            do {
                if n < 0 {
                    if errno == EINTR { continue }
                    throw FileSystem.fail(path, "read from the copy's pipe")
                }
                try buffer.withUnsafeBytes { try append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            } catch {
                failure = error
                close(fd)
                readEnd = nil
            }
        }
        done.wait()
        if let failure { throw failure }
        if case .failure(let error) = produced.withLock({ $0! }) { throw error }
    }
}
