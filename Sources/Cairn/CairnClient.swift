import CairnCore
import CairnProtocol
import FoundationEssentials
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization

/// An async client for a Cairn server: one session, kept alive by pings, resumed after reconnects (and
/// server restarts), with watches and a connection-state stream.
///
/// Run it as a `Service` (its `run()` owns the connection) or with `CairnClient.withClient`.
public final class CairnClient: Service, Sendable {
    /// A server's address: `Address(host:port:)`, or parsed from `HOST:PORT` or `[IPv6]:PORT` with `Address("…")`.
    public typealias Address = HostPort

    public struct Configuration: Sendable {
        /// Tried in turn when connecting and reconnecting.
        public var addresses: [Address]
        /// Asked for at connect; the server clamps it into its bounds.
        public var sessionTimeout: Duration = .seconds(10)
        public var connectTimeout: Duration = .seconds(2)
        /// How long a request waits for a connection before failing with `timedOut`.
        public var requestTimeout: Duration = .seconds(10)
        /// Reconnect waits: exponential from the first to the most, each drawn at random from the upper half of its
        /// bound (see `ReconnectBackoff`).
        public var initialBackoff: Duration = .milliseconds(50)
        public var maxBackoff: Duration = .seconds(2)
        /// Longest line accepted from the server.
        public var maxLineBytes = 4 << 20
        /// false: the connection carries no session, and only `stats`, `ping` and `probeWrite()` may be used.
        /// For operators' probes, which must work while the server cannot write (opening a session is a write).
        public var opensSession = true
        /// Sent on every connection right after its session is established, before any request: what the server
        /// checks ACLs against (ZooKeeper's `addAuthInfo`; `addAuth` adds more while running).
        public var authentication: [Authentication] = []
        /// TLS for every connection (swift-nio-ssl's configuration: trust roots, a client certificate and key);
        /// nil speaks plaintext.
        public var tls: TLSConfiguration?

        public init(addresses: [Address]) { self.addresses = addresses }

        public init(host: String = "127.0.0.1", port: Int = 4181) {
            self.init(addresses: [Address(host: host, port: port)])
        }
    }

    /// Credentials for the server's `auth` op.
    public struct Authentication: Sendable, Hashable {
        public var scheme: String
        public var credentials: String

        public init(scheme: String, credentials: String) {
            self.scheme = scheme
            self.credentials = credentials
        }

        /// ZooKeeper's digest scheme: `user:password`.
        public static func digest(_ userAndPassword: String) -> Authentication {
            Authentication(scheme: "digest", credentials: userAndPassword)
        }
    }

    struct Session: Sendable {
        var credentials: SessionCredentials
        var timeoutMilliseconds: Int64
    }

    /// A request sent and not yet answered: how to read its reply, and who waits for it.
    struct Pending: Sendable {
        var kind: ReplyKind
        var promise: EventLoopPromise<(zxid: Zxid, reply: Reply)>
    }

    struct State: Sendable {
        /// The connection once its session is established; requests go there.
        var channel: (any Channel)?
        var handshakeChannel: (any Channel)?
        var waitingForChannel: [UInt64: CheckedContinuation<any Channel, any Error>] = [:]
        var nextWaiter: UInt64 = 0
        var pending: [Int64: Pending] = [:]
        var nextID: Int64 = 1
        var session: Session?
        var oneShots: [ObjectIdentifier: OneShotWatch] = [:]
        var persistent: [UInt64: PersistentWatch] = [:]
        var nextPersistent: UInt64 = 0
        var stateListeners: [UInt64: AsyncStream<ConnectionState>.Continuation] = [:]
        var nextListener: UInt64 = 0
        var lastHeard = ContinuousClock.now
        var closed = false
        var watchEventsReceived = 0
        /// Receives the events of a streamed answer (dump, snapshot) while a streaming op runs.
        var streamSink: (@Sendable (ServerEvent) -> Void)?
        /// The configured credentials and those `addAuth` added: re-sent on every new connection.
        var authentication: [Authentication] = []
    }

    public let configuration: Configuration
    public let logger: Logger
    let state = Mutex(State())
    private let group: any EventLoopGroup

    public init(configuration: Configuration, logger: Logger = Logger(label: "cairn.client")) {
        precondition(!configuration.addresses.isEmpty, "a client needs at least one address")
        self.configuration = configuration
        self.logger = logger
        group = MultiThreadedEventLoopGroup.singleton
        state.withLock { $0.authentication = configuration.authentication }
    }

    /// Runs a client for the duration of `body`, then closes its session.
    public static func withClient<T: Sendable>(
        _ configuration: Configuration, logger: Logger = Logger(label: "cairn.client"),
        _ body: (CairnClient) async throws -> T
    ) async throws -> T {
        let client = CairnClient(configuration: configuration, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            do {
                let result = try await body(client)
                await client.close()
                group.cancelAll()
                return result
            } catch {
                await client.close()
                group.cancelAll()
                throw error
            }
        }
    }

    /// Watch events this client has received from the server so far (to see herd effects).
    public var watchEventsReceived: Int { state.withLock { $0.watchEventsReceived } }

    /// The current session's id, once one is open.
    public var sessionID: String? { state.withLock { $0.session?.credentials.id.hex } }

    /// Connection states from now on (connected, suspended, reconnected, expired).
    public func states() -> AsyncStream<ConnectionState> {
        let (stream, continuation) = AsyncStream<ConnectionState>.makeStream()
        let id = state.withLock { s in
            defer { s.nextListener += 1 }
            s.stateListeners[s.nextListener] = continuation
            return s.nextListener
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { _ = $0.stateListeners.removeValue(forKey: id) }
        }
        return stream
    }

    /// Ends the session (its ephemerals go) and stops the client.
    public func close() async {
        if state.withLock({ $0.channel != nil && $0.session != nil }) { _ = try? await call(.close) }
        let (channel, waiters) = state.withLock { s in
            s.closed = true
            defer { s.waitingForChannel = [:] }
            return (s.channel ?? s.handshakeChannel, Array(s.waitingForChannel.values))
        }
        for waiter in waiters { waiter.resume(throwing: ClientError.closed) }
        try? await channel?.close()
    }

    // MARK: The connection loop

    public func run() async throws {
        await cancelWhenGracefulShutdown { await self.connectionLoop() }
        let listeners = state.withLock { s in
            s.closed = true
            return Array(s.stateListeners.values) + []
        }
        for listener in listeners { listener.finish() }
        for watch in state.withLock({ Array($0.persistent.values) }) { watch.finish(throwing: ClientError.closed) }
    }

    private func connectionLoop() async {
        var backoff = ReconnectBackoff(initial: configuration.initialBackoff, maximum: configuration.maxBackoff)
        var random = SystemRandomNumberGenerator()
        var index = 0
        while !Task.isCancelled && !state.withLock({ $0.closed }) {
            let address = configuration.addresses[index % configuration.addresses.count]
            index += 1
            do {
                let channel = try await open(address)
                try await establishSession(on: channel)
                backoff.reset()
                await reRegisterWatches()
                await keepAlive(channel)
            } catch {
                logger.debug(
                    "connection attempt failed",
                    metadata: ["address": "\(address.host):\(address.port)", "error": "\(error)"])
            }
            if Task.isCancelled || state.withLock({ $0.closed }) { break }
            try? await Task.sleep(for: backoff.next(using: &random))
        }
    }

    private func open(_ address: Address) async throws -> any Channel {
        let maxLine = configuration.maxLineBytes
        let tls = try configuration.tls.map { try NIOSSLContext(configuration: $0) }
        let timeout =
            configuration.connectTimeout.components.seconds * 1000
            + configuration.connectTimeout.components.attoseconds / 1_000_000_000_000_000
        return try await ClientBootstrap(group: group)
            .connectTimeout(.milliseconds(timeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        // A name is checked against the certificate; an address as the host is checked as an address.
                        let isAddress = (try? SocketAddress(ipAddress: address.host, port: 0)) != nil
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: tls, serverHostname: isAddress ? nil : address.host))
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(JSONLineDecoder(maxLength: maxLine)))
                    try channel.pipeline.syncOperations.addHandler(
                        ClientChannelHandler(
                            received: { [weak self] line in self?.received(line) },
                            closed: { [weak self] channel in self?.connectionClosed(channel) }))
                }
            }
            .connect(host: address.host, port: address.port).get()
    }

    /// Resumes the session on `channel`, or opens a new one when there is none or it expired.
    private func establishSession(on channel: any Channel) async throws {
        state.withLock { $0.handshakeChannel = channel }
        let previous = state.withLock { $0.session }
        var events: [ConnectionState] = []
        if !configuration.opensSession { events.append(.connected) }
        if let previous {
            do {
                _ = try await send(
                    .connect(timeoutMilliseconds: previous.timeoutMilliseconds, resume: previous.credentials),
                    on: channel
                ).get()
                events.append(.reconnected)
            } catch ClientError.server(.sessionExpired, _, _, _) {
                sessionExpired()
            }
        }
        if events.isEmpty {
            let timeout = configuration.sessionTimeout.components.seconds * 1000
            let (_, reply) = try await send(.connect(timeoutMilliseconds: timeout, resume: nil), on: channel).get()
            guard case .connected(let id, let password?, let granted) = reply else {
                throw ClientError.server(code: .internal, message: "connect reply without a session")
            }
            let session = Session(
                credentials: SessionCredentials(id: id, password: password), timeoutMilliseconds: granted)
            state.withLock { $0.session = session }
            events.append(.connected)
        }
        for authentication in state.withLock({ $0.authentication }) {
            _ = try await send(
                .auth(scheme: authentication.scheme, credentials: authentication.credentials), on: channel
            ).get()
        }
        let waiters = state.withLock { s in
            s.channel = channel
            s.handshakeChannel = nil
            s.lastHeard = .now
            defer { s.waitingForChannel = [:] }
            return Array(s.waitingForChannel.values)
        }
        for waiter in waiters { waiter.resume(returning: channel) }
        for event in events { publish(event) }
    }

    /// The session is gone: one-shot watches fail, listeners hear `expired`.
    private func sessionExpired() {
        let watches = state.withLock { s in
            s.session = nil
            defer { s.oneShots = [:] }
            return Array(s.oneShots.values)
        }
        for watch in watches { watch.complete(.failure(.sessionExpired)) }
        publish(.expired)
    }

    /// Pings every third of the session timeout; closes the connection when the server is silent for
    /// two thirds of it. Returns when the connection is gone.
    private func keepAlive(_ channel: any Channel) async {
        let timeout = Duration.milliseconds(state.withLock { $0.session?.timeoutMilliseconds } ?? 10_000)
        while channel.isActive && !Task.isCancelled {
            try? await Task.sleep(for: timeout / 3)
            guard channel.isActive else { break }
            if ContinuousClock.now - state.withLock({ $0.lastHeard }) > timeout * 2 / 3 {
                logger.info("server silent, reconnecting")
                try? await channel.close()
                break
            }
            // Its reply only refreshes `lastHeard`.
            post(.ping, on: channel)
        }
        if Task.isCancelled { try? await channel.close() }
        try? await channel.closeFuture.get()
    }

    private func publish(_ event: ConnectionState) {
        logger.debug("connection state", metadata: ["state": "\(event)"])
        for listener in state.withLock({ Array($0.stateListeners.values) }) { listener.yield(event) }
    }

    // MARK: Requests

    /// Sends `request` once a session is established and returns its reply; throws the server's error.
    func call(_ request: ClientRequest) async throws -> (zxid: Zxid, reply: Reply) {
        try await send(request, on: try await connectedChannel()).get()
    }

    /// Sends `request` before returning, so requests sent one after another from one task reach the server in that
    /// order, and returns its reply to await later: a loader keeps several in flight.
    func sendNow(_ request: ClientRequest) async throws -> EventLoopFuture<(zxid: Zxid, reply: Reply)> {
        send(request, on: try await connectedChannel())
    }

    private func connectedChannel() async throws -> any Channel {
        if let channel = state.withLock({ $0.channel }) { return channel }
        let timeout = configuration.requestTimeout
        return try await withThrowingTaskGroup(of: (any Channel).self) { group in
            group.addTask { try await self.nextChannel() }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw ClientError.timedOut
            }
            defer { group.cancelAll() }
            guard let channel = try await group.next() else { throw ClientError.timedOut }
            return channel
        }
    }

    /// Waits for the next established connection; cancelling the task ends the wait.
    private func nextChannel() async throws -> any Channel {
        let waiter = state.withLock { s in
            defer { s.nextWaiter += 1 }
            return s.nextWaiter
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let ready: Result<any Channel, any Error>? = state.withLock { s in
                    if s.closed { return .failure(ClientError.closed) }
                    if let channel = s.channel { return .success(channel) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    s.waitingForChannel[waiter] = continuation
                    return nil
                }
                if let ready { continuation.resume(with: ready) }
            }
        } onCancel: {
            state.withLock { $0.waitingForChannel.removeValue(forKey: waiter) }?.resume(throwing: CancellationError())
        }
    }

    private func send(_ request: ClientRequest, on channel: any Channel) -> EventLoopFuture<(zxid: Zxid, reply: Reply)>
    {
        let promise = channel.eventLoop.makePromise(of: (zxid: Zxid, reply: Reply).self)
        let id = state.withLock { s in
            defer { s.nextID += 1 }
            s.pending[s.nextID] = Pending(kind: request.replyKind, promise: promise)
            return s.nextID
        }
        let line = request.line(id: id)
        var buffer = channel.allocator.buffer(capacity: line.count)
        buffer.writeBytes(line)
        channel.writeAndFlush(buffer).whenFailure { [weak self] _ in self?.fail(id, .connectionLoss) }
        return promise.futureResult
    }

    /// Runs an op whose answer is a stream of events before its reply (`dump`, `snapshot`), handing each to
    /// `events`. For tools (cairnctl); one such op at a time per client.
    public func streaming(_ request: ClientRequest, events: @escaping @Sendable (ServerEvent) -> Void) async throws
        -> (zxid: Zxid, reply: Reply)
    {
        state.withLock { $0.streamSink = events }
        defer { state.withLock { $0.streamSink = nil } }
        return try await call(request)
    }

    /// Sends `request` with id 0, which no awaited request uses: its reply is read and dropped.
    func post(_ request: ClientRequest, on channel: (any Channel)? = nil) {
        guard let channel = channel ?? state.withLock({ $0.channel }) else { return }
        let line = request.line(id: 0)
        var buffer = channel.allocator.buffer(capacity: line.count)
        buffer.writeBytes(line)
        channel.writeAndFlush(buffer, promise: nil)
    }

    private func fail(_ id: Int64, _ error: ClientError) {
        state.withLock { $0.pending.removeValue(forKey: id) }?.promise.fail(error)
    }

    // MARK: Inbound

    private func received(_ line: [UInt8]) {
        let decoded: ServerLine
        do {
            decoded = try ServerLine.decode(line)
        } catch {
            logger.warning("unreadable line from the server", metadata: ["error": "\(error)"])
            return
        }
        state.withLock { $0.lastHeard = .now }
        switch decoded {
        case .event(.watch(let notification, let zxid)): deliver(notification, zxid: zxid)
        case .event(.sessionExpired): sessionExpired()
        case .event(let streamed): state.withLock { $0.streamSink }?(streamed)
        case .reply(let reply):
            guard let id = reply.id, let pending = state.withLock({ $0.pending.removeValue(forKey: id) }) else {
                return
            }
            switch reply.line(as: pending.kind).outcome {
            case .ok(let zxid, let reply): pending.promise.succeed((zxid, reply))
            case .failed(let error): pending.promise.fail(ClientError(error))
            }
        }
    }

    private func deliver(_ notification: WatchNotification, zxid: Zxid) {
        let event = WatchEvent(type: notification.type, path: notification.path.string, zxid: zxid)
        let (oneShots, persistent) = state.withLock { s in
            s.watchEventsReceived += 1
            let fired = s.oneShots.filter { $0.value.matches(notification) }
            for key in fired.keys { s.oneShots[key] = nil }
            return (Array(fired.values), Array(s.persistent.values))
        }
        for watch in oneShots { watch.complete(.success(event)) }
        for watch in persistent { watch.deliver(notification, event) }
    }

    /// A connection closed. Only the current one matters: an older one closing late must not undo the
    /// connection that replaced it.
    private func connectionClosed(_ closed: any Channel) {
        let (pending, oneShots, hadSession) = state.withLock { s in
            let current = s.channel ?? s.handshakeChannel
            guard let current, current === closed else {
                return ([Pending](), [OneShotWatch](), false)
            }
            let hadSession = s.channel != nil
            s.channel = nil
            s.handshakeChannel = nil
            defer {
                s.pending = [:]
                s.oneShots = [:]
            }
            return (Array(s.pending.values), Array(s.oneShots.values), hadSession)
        }
        for request in pending { request.promise.fail(ClientError.connectionLoss) }
        for watch in oneShots { watch.complete(.failure(.connectionLoss)) }
        if hadSession { publish(.suspended) }
    }

    func register(_ watch: OneShotWatch) { state.withLock { $0.oneShots[ObjectIdentifier(watch)] = watch } }

    func unregister(_ watch: OneShotWatch) {
        state.withLock { _ = $0.oneShots.removeValue(forKey: ObjectIdentifier(watch)) }
    }
}
