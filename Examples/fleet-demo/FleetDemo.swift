import ArgumentParser
import AsyncHTTPClient
import Cairn
import CairnRecipes
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A health-checked service fleet on Cairn: each `instance` serves HTTP, registers itself and runs its own health
/// check against its `/health`; `client` keeps a cached view of the enabled instances and balances calls over them.
@main
struct FleetDemo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet-demo", abstract: "Service fleet demo: health-checked instances, a balancing client.",
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

/// Serves `GET /` (`hello from <name>`) and `GET /health` (200, or 503 once `GET /sick` was called, until
/// `GET /well`), and stays registered, marked down while its health check fails.
struct Instance: AsyncParsableCommand {
    @OptionGroup var options: ServerOptions
    @Option(help: "The instance's name, in its greeting and metadata.") var name = "a"
    @Option(help: "Milliseconds between health checks.") var checkIntervalMs = 500
    @Option(help: "Failed checks in a row that mark the instance down.") var failuresBeforeDown = 2

    func run() async throws {
        let sick = Sick()
        let name = name
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Responder(name: name, sick: sick))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = listener.localAddress!.port!
        let client = CairnClient(configuration: options.client)
        let registry = ServiceRegistry(client: client)
        let registration = HealthCheckedRegistration(
            registry: registry, service: options.service,
            instance: ServiceInstance(address: "127.0.0.1", port: port, metadata: ["name": name]),
            check: .http("http://127.0.0.1:\(port)/health"), interval: .milliseconds(checkIntervalMs),
            timeout: .seconds(1), failuresBeforeDown: failuresBeforeDown, successesBeforeUp: 2)
        say("registered \(registry.root)/\(options.service)/\(registration.instance.id) serving \(port)")
        let group = ServiceGroup(
            services: [client, registry, registration], gracefulShutdownSignals: [.sigterm, .sigint],
            logger: client.logger)
        try await group.run()
    }
}

/// Whether the instance answers its health check with 503.
final class Sick: Sendable {
    let value = Atomic<Bool>(false)
}

/// The instance's HTTP routes.
final class Responder: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let name: String
    let sick: Sick

    init(name: String, sick: Sick) {
        self.name = name
        self.sick = sick
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let head) = unwrapInboundIn(data) else { return }
        let (status, body): (HTTPResponseStatus, String)
        switch head.uri {
        case "/": (status, body) = (.ok, "hello from \(name)")
        case "/health":
            (status, body) = sick.value.load(ordering: .relaxed) ? (.serviceUnavailable, "sick") : (.ok, "ok")
        case "/sick", "/well":
            sick.value.store(head.uri == "/sick", ordering: .relaxed)
            (status, body) = (.ok, String(head.uri.dropFirst()))
        default: (status, body) = (.notFound, "no such page")
        }
        var headers = HTTPHeaders([("content-length", "\(body.utf8.count)")])
        if !head.isKeepAlive { headers.add(name: "connection", value: "close") }
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))),
            promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        let close = !head.isKeepAlive
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if close { channel.close(promise: nil) }
        }
    }
}

/// Calls the service's enabled instances in turn, chosen by a `ServiceProvider` from a watch-driven cache; a
/// failed call is noted, so an instance failing twice is skipped for a while.
struct Client: AsyncParsableCommand {
    @OptionGroup var options: ServerOptions
    @Option(help: "Milliseconds between calls.") var intervalMs = 200
    @Option(help: "Calls to make.") var calls = 50

    func run() async throws {
        try await CairnClient.withClient(options.client) { client in
            let cache = ServiceCache(registry: ServiceRegistry(client: client), service: options.service)
            let provider = ServiceProvider(cache: cache, strategy: .roundRobin)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await cache.run() }
                group.addTask {
                    for await instances in cache.updates() {
                        say(
                            "instances \(instances.compactMap { $0.port.map(String.init) }.sorted().joined(separator: " "))"
                        )
                    }
                }
                for _ in 0..<calls {
                    try await Task.sleep(for: .milliseconds(intervalMs))
                    guard let instance = provider.instance(), let port = instance.port else {
                        say("no instance")
                        continue
                    }
                    do {
                        let response = try await HTTPClient.shared.execute(
                            HTTPClientRequest(url: "http://\(instance.address):\(port)/"), timeout: .seconds(1))
                        let body = try await response.body.collect(upTo: 1 << 16)
                        say("called \(port): \(String(buffer: body))")
                    } catch {
                        provider.noteError(instance)
                        say("called \(port): failed (\(error))")
                    }
                }
                group.cancelAll()
            }
        }
    }
}

/// One line on stdout, unbuffered, so a reader sees it at once (and a kill -9 loses none).
func say(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}
