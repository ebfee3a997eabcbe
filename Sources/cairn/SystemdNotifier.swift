#if canImport(Glibc)
import Glibc
#endif

/// systemd's readiness protocol without libsystemd: when the service runs with `Type=notify`, systemd sets
/// `NOTIFY_SOCKET` to a Unix datagram socket (a path, or `@name` in the abstract namespace), and the service sends it
/// `READY=1` once it serves and `STOPPING=1` once it has drained its clients. Without the variable nothing is sent.
struct SystemdNotifier: Sendable {
    private let socketPath: String?

    /// `NOTIFY_SOCKET`'s value.
    init(socketPath: String?) { self.socketPath = socketPath.flatMap { $0.isEmpty ? nil : $0 } }

    /// Sends `state` (`READY=1`, `STOPPING=1`, `STATUS=…`); false when there is no socket or the send failed.
    @discardableResult
    func notify(_ state: String) -> Bool {
        guard let socketPath else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var path = Array(socketPath.utf8)
        if path.first == UInt8(ascii: "@") { path[0] = 0 }  // the abstract namespace
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count)
        let message = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { target in
                message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), target, length) }
            }
        }
        return sent == message.count
    }
}
