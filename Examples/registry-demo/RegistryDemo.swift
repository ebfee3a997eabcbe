import ArgumentParser
import Cairn
import CairnRecipes
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// Service registration and client-side load balancing on Cairn: `instance` serves a tiny TCP service
/// and registers it; `client` keeps a cached view of the instances and calls them in turn.
@main
struct RegistryDemo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registry-demo", abstract: "Service registry demo: instances register, a client balances calls.",
        subcommands: [Instance.self, Client.self])
}

struct ServerOptions: ParsableArguments {
    @Option(help: "Cairn server host.") var host = "127.0.0.1"
    @Option(help: "Cairn server port.") var port = 4181
    @Option(help: "Service name (instances go under /services/<name>/).") var service = "web"
    @Option(help: "Session timeout, ms: how long a dead instance stays listed.") var sessionTimeoutMs = 2000

    var client: CairnClient.Configuration {
        var configuration = CairnClient.Configuration(host: host, port: port)
        configuration.sessionTimeout = .milliseconds(sessionTimeoutMs)
        return configuration
    }
}

/// Serves `hello from <port>` to each connection, and stays registered while it runs.
struct Instance: AsyncParsableCommand {
    @OptionGroup var options: ServerOptions

    func run() async throws {
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in channel.pipeline.addHandler(Greeter()) }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = listener.localAddress!.port!
        try await CairnClient.withClient(options.client) { client in
            let registry = ServiceRegistry(client: client)
            let registration = try await registry.register(
                options.service, ServiceInstance(address: "127.0.0.1", port: port))
            say("registered \(registration.path ?? "?") serving \(port)")
            try await registry.run()
        }
    }
}

/// Writes one greeting and closes.
final class Greeter: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    func channelActive(context: ChannelHandlerContext) {
        let port = context.localAddress?.port ?? 0
        let channel = context.channel
        context.writeAndFlush(NIOAny(channel.allocator.buffer(string: "hello from \(port)\n"))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}

/// Calls the service's instances in turn, choosing from a watch-driven cache.
struct Client: AsyncParsableCommand {
    @OptionGroup var options: ServerOptions
    @Option(help: "Milliseconds between calls.") var intervalMs = 200
    @Option(help: "Calls to make.") var calls = 50

    func run() async throws {
        try await CairnClient.withClient(options.client) { client in
            let cache = ServiceCache(registry: ServiceRegistry(client: client), service: options.service)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await cache.run() }
                group.addTask {
                    for await instances in cache.updates() {
                        say("instances \(instances.map { String($0.port) }.sorted().joined(separator: " "))")
                    }
                }
                for _ in 0..<calls {
                    try await Task.sleep(for: .milliseconds(intervalMs))
                    guard let instance = cache.next(.roundRobin) else {
                        say("no instance")
                        continue
                    }
                    say("called \(instance.port): \(await call(instance))")
                }
                group.cancelAll()
            }
        }
    }

    private func call(_ instance: ServiceInstance) async -> String {
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: instance.address, port: instance.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
            return try await channel.executeThenClose { inbound, _ in
                var reply = ""
                for try await chunk in inbound { reply += String(buffer: chunk) }
                return reply.split(separator: "\n").first.map(String.init) ?? ""

            }
        } catch {
            return "failed (\(error))"
        }
    }
}

/// One line on stdout, unbuffered, so a reader sees it at once (and a kill -9 loses none).
func say(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}
