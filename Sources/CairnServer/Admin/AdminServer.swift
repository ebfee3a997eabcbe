import CairnCore
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// The admin HTTP listener (`--admin-listen`): probes and metrics (`AdminRoutes`) on SwiftNIO's HTTP/1 server,
/// behind TLS when the server has it. It listens before the store opens, so `/readyz` can say the server is still
/// recovering; `serve(_:)` hands it the server once there is one. Keep-alive connections are served a request at a
/// time.
public final class AdminServer: Sendable {
    private typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    private let listener: NIOAsyncChannel<Connection, Never>
    private let routes: AdminRoutes
    private let group: MultiThreadedEventLoopGroup
    private let logger: Logger
    /// Where it listens (the port chosen, for port 0).
    public let address: SocketAddress

    /// Listens on `host:port` (one thread of its own: the admin port never competes with clients' event loops).
    public static func listen(
        host: String, port: Int, metrics: PrometheusMetrics, access: AccessPolicy, tls: ServerTLS?, logger: Logger
    ) async throws -> AdminServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let listener = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls { try channel.pipeline.syncOperations.addHandler(tls.handler()) }
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        return try Connection(wrappingChannelSynchronously: channel)
                    }
                }
            return AdminServer(
                listener: listener, routes: AdminRoutes(metrics: metrics, access: access), group: group,
                logger: logger)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private init(
        listener: NIOAsyncChannel<Connection, Never>, routes: AdminRoutes, group: MultiThreadedEventLoopGroup,
        logger: Logger
    ) {
        self.listener = listener
        self.routes = routes
        self.group = group
        self.logger = logger
        address = listener.channel.localAddress!
    }

    /// From now on `/readyz`, `/status` and `/metrics` answer for `server`.
    public func serve(_ server: CairnServer) { routes.serve(server) }

    /// Accepts connections until cancelled, then closes the listener and every connection.
    public func run() async throws {
        logger.info(
            "admin listening", metadata: ["admin.address": "\(address.ipAddress ?? "?"):\(address.port ?? 0)"])
        try await withTaskCancellationHandler {
            try await listener.executeThenClose { connections in
                try await withThrowingDiscardingTaskGroup { tasks in
                    for try await connection in connections {
                        tasks.addTask { await self.handle(connection) }
                    }
                }
            }
        } onCancel: {
            listener.channel.close(promise: nil)
        }
        try await group.shutdownGracefully()
    }

    private func handle(_ connection: Connection) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var request: HTTPRequestHead?
                for try await part in inbound {
                    switch part {
                    case .head(let head): request = head
                    case .body: break
                    case .end:
                        guard let head = request else { continue }
                        request = nil
                        let response = await routes.respond(
                            method: head.method, uri: head.uri, authorization: head.headers.first(name: "Authorization")
                        )
                        try await write(response, for: head, to: outbound)
                        if !head.isKeepAlive { return }
                    }
                }
            }
        } catch {
            logger.debug("admin connection error", metadata: ["error": "\(error)"])
        }
    }

    private func write(
        _ response: AdminRoutes.Response, for request: HTTPRequestHead,
        to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    ) async throws {
        var headers = HTTPHeaders([
            ("Content-Type", response.contentType), ("Content-Length", "\(response.body.count)"),
            ("Cache-Control", "no-store"),
        ])
        headers.add(contentsOf: response.headers)
        if !request.isKeepAlive { headers.add(name: "Connection", value: "close") }
        try await outbound.write(
            .head(HTTPResponseHead(version: request.version, status: response.status, headers: headers)))
        if request.method != .HEAD { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: response.body)))) }
        try await outbound.write(.end(nil))
    }
}
