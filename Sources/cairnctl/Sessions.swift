import ArgumentParser
import Cairn
import CairnCore
import Foundation

struct Sessions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the open sessions: id, timeout, connected, last heard, ephemeral nodes.",
        usage: "cairnctl sessions [<options>]",
        discussion: "Needs the super user or an operator once credentials are configured (--auth).")
    @OptionGroup var options: LiveOptions

    func run() async throws {
        let sessions = try await options.withClient(session: false) { try await $0.sessions() }
        if options.json {
            return printJSON(
                sessions.map {
                    [
                        "session_id": $0.id.hex, "timeout_ms": $0.timeoutMilliseconds, "connected": $0.connected,
                        "idle_ms": $0.idleMilliseconds, "ephemerals": $0.ephemerals,
                    ] as [String: Any]
                })
        }
        print("session           timeout ms  connected  last heard ms ago  ephemerals")
        for s in sessions {
            print(
                s.id.hex + "  " + Self.right("\(s.timeoutMilliseconds)", 10) + "  "
                    + Self.right(s.connected ? "yes" : "no", 9)
                    + "  " + Self.right("\(s.idleMilliseconds)", 17) + "  " + Self.right("\(s.ephemerals)", 10))
        }
    }

    /// `text` right-aligned in `width` columns.
    static func right(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(width - text.count, 0)) + text
    }
}

struct Ephemerals: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List a session's ephemeral nodes.", usage: "cairnctl ephemerals [<options>] <session>",
        discussion: "Another session's need the super user or an operator once credentials are configured.")
    @OptionGroup var options: LiveOptions
    @Argument(help: "The session's id, 16 hex digits (cairnctl sessions lists them).") var session: String

    func run() async throws {
        guard let id = SessionID(hex: session) else {
            throw ValidationError("the session id must be 16 hex digits, as cairnctl sessions prints it")
        }
        let paths = try await options.withClient(session: false) { try await $0.ephemerals(of: id) }
        if options.json { return printJSON(paths) }
        for path in paths { print(path) }
    }
}
