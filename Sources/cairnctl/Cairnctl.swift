import ArgumentParser
import CairnCore

/// `cairnctl`: the operator's tool for a Cairn server and its data directory.
@main
struct Cairnctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cairnctl",
        abstract: "Inspect, back up, restore and repair Cairn.",
        discussion: """
            Live commands talk to a server: --server HOST:PORT (default 127.0.0.1:4181, or $CAIRN_SERVER). \
            Offline commands work on a data directory (--data-dir) and are refused while a server uses it. \
            --json makes any command's output machine-readable.

            Exit codes: 0 done; 1 the operation failed (e.g. no such node, a conflict); 2 the server could not be \
            reached or is not healthy; 3 damaged data found (a WAL, a snapshot); 64 bad usage.
            """,
        version: CairnVersion.current,
        subcommands: [
            Ls.self, Get.self, StatCommand.self, Create.self, SetCommand.self, Rm.self, Watch.self, Stats.self,
            Health.self, Sessions.self, Ephemerals.self, Dump.self, Load.self, Snapshot.self, WAL.self, ACLCommand.self,
            Digest.self,
        ])
}
