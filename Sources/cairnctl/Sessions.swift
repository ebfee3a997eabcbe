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
    @OptionGroup var listing: ListingOptions

    func run() async throws {
        let sessions = try await options.withClient(session: false) { try await $0.sessions() }
        let rows = sessions.map {
            [
                $0.id.hex, "\($0.timeoutMilliseconds)", $0.connected ? "yes" : "no", "\($0.idleMilliseconds)",
                "\($0.ephemerals)",
            ]
        }
        switch listing.format(options) {
        case .json:
            for s in sessions {
                printJSON([
                    "session_id": s.id.hex, "timeout_ms": s.timeoutMilliseconds, "connected": s.connected,
                    "idle_ms": s.idleMilliseconds, "ephemerals": s.ephemerals,
                ])
            }
        case .table:
            printTable(
                ["SESSION", "TIMEOUT MS", "CONNECTED", "LAST HEARD MS AGO", "EPHEMERALS"], rows, numeric: [1, 3, 4])
        case .text: for row in rows { print(row.joined(separator: " ")) }
        }
    }
}

struct Ephemerals: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List a session's ephemeral nodes.", usage: "cairnctl ephemerals [<options>] <session>",
        discussion: "Another session's need the super user or an operator once credentials are configured.")
    @OptionGroup var options: LiveOptions
    @OptionGroup var listing: ListingOptions
    @Argument(help: "The session's id, 16 hex digits (cairnctl sessions lists them).") var session: String

    func run() async throws {
        guard let id = SessionID(hex: session) else {
            throw ValidationError("the session id must be 16 hex digits, as cairnctl sessions prints it")
        }
        let paths = try await options.withClient(session: false) { try await $0.ephemerals(of: id) }
        switch listing.format(options) {
        case .json: for path in paths { printJSON(["path": path]) }
        case .table: printTable(["NODE"], paths.map { [$0] })
        case .text: for path in paths { print(path) }
        }
    }
}
