import Foundation

/// CPU time and resident memory of a local process, from /proc.
struct ProcessSample: Sendable {
    var cpuSeconds: Double
    var rssBytes: Int

    init?(pid: Int32) {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name: state is field 3; utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let utime = Double(fields[11]), let stime = Double(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        cpuSeconds = (utime + stime) / ticks
        let rssLine = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
        let kb = rssLine.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        rssBytes = kb * 1024
    }
}
