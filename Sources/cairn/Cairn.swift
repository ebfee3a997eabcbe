import ArgumentParser
import CairnCore

/// `cairn`: the Cairn server executable.
@main
struct Cairn: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Cairn: a durable coordination service with ZooKeeper's semantics.",
        version: CairnVersion.current,
        subcommands: [Serve.self],
        defaultSubcommand: Serve.self)
}
