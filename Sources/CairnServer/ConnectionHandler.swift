import CairnCore
import CairnProtocol
import CairnStore
import FoundationEssentials
import NIOCore
import NIOPosix

/// One client connection: parses request lines, runs them in order, writes replies.
///
/// Ordering: changes are pipelined into the store (which keeps their order); every other request waits
/// until the changes sent before it have completed, so replies come in request order and a read sees
/// the writes sent ahead of it. Event-loop confined.
///
/// Backpressure: with `maxRequestsInFlight` requests read and not answered, the socket is not read (NIO's
/// `read` is held back) until half of them are.
final class ConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        var id: Int64?
        var request: Result<ClientRequest, CairnError>
        /// Close the connection after replying (an oversized line: the stream cannot be trusted after it).
        var closesConnection = false
    }

    let server: CairnServer
    /// Splits what the socket delivers into request lines, inside this handler.
    private let lines: NIOSingleStepByteToMessageProcessor<JSONLineDecoder>
    /// Set while the handler is in the pipeline. The context holds this handler, so keeping it after removal
    /// would be a cycle that leaks the whole connection (channel, pipeline, buffers) at every close. Requests
    /// run only while it is set (they arrive through the pipeline); output after removal is dropped.
    private(set) var context: ChannelHandlerContext?
    private var handle: ConnectionHandle?
    private var session: SessionID?
    private var queue = CircularBuffer<Pending>()
    /// Changes submitted to the store and not yet completed.
    private var changesInFlight = 0
    /// A non-pipelined request that completes later (connect, close, a history replay) is running.
    private var waiting = false
    private var closing = false
    /// The server is shutting down: what arrives now is discarded, and the connection closes once what it read
    /// before is answered.
    private var draining = false
    /// A read of the socket was asked for and held back (`read(context:)`).
    private var readHeld = false
    /// A flush is queued on the event loop: replies written meanwhile go out with it.
    private var flushQueued = false
    /// Replies and events written since the last flush, sent as one buffer (one allocation and one
    /// pending write per flush, not per line).
    private var output = ByteBuffer()
    /// The last reply line, kept once copied into `output` for its capacity: the next reply is written into
    /// it (no allocation per reply; `replyStorage()`).
    private var spareReply: [UInt8] = []

    init(server: CairnServer) {
        self.server = server
        lines = NIOSingleStepByteToMessageProcessor(JSONLineDecoder(maxLength: server.configuration.maxLineBytes))
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        output = context.channel.allocator.buffer(capacity: 4096)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        handle = nil  // a completion still in flight must not keep the channel alive
    }

    func channelActive(context: ChannelHandlerContext) {
        guard let handle = server.connections.add(context.channel, limit: server.configuration.maxConnections) else {
            server.logger.warning(
                "connection refused: limit reached",
                metadata: ["connection.peer": "\(context.remoteAddress.map { "\($0)" } ?? "?")"])
            write(
                ErrorReply(.unavailable("the server has \(server.configuration.maxConnections) connections, its limit"))
                    .line(id: nil))
            close()
            return
        }
        self.handle = handle
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closing = true
        if let handle {
            server.connections.remove(handle.id)
            server.watches.removeConnection(handle.id)
            if let session { server.sessions.detach(session, from: handle.id) }
        }
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if !context.channel.isWritable && !closing {
            server.logger.warning(
                "disconnecting a client that does not read its replies",
                metadata: [
                    "connection.peer": "\(context.remoteAddress.map { "\($0)" } ?? "?")",
                    "limit.bytes": "\(server.configuration.maxOutboundBytes)",
                ])
            close()
        }
        context.fireChannelWritabilityChanged()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing, !draining else { return }
        // The decoder throws nothing (an overlong line is a frame), so neither does this.
        try? lines.process(buffer: unwrapInboundIn(data)) { frame in
            switch frame {
            case .tooLong:
                let error = CairnError.tooLarge(
                    "a request line is longer than \(server.configuration.maxLineBytes) bytes; the connection is closed"
                )
                receive(Pending(id: nil, request: .failure(error), closesConnection: true))
            case .line(let buffer):
                // Decoded straight from the connection's buffer: no copy of the line.
                guard let (id, request) = buffer.withUnsafeReadableBytes(server.decoder.decode) else { return }
                receive(Pending(id: id, request: request))
            }
        }
        pump()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ConnectionInbox.Ready else { return context.fireUserInboundEventTriggered(event) }
        takeInbox()
        pump()
        flush()
    }

    /// Writes a read's reply after the watch events of every change it reflects. The writer thread posts a
    /// batch's events right after its LMDB commit, so a read in between can see a change whose events are not
    /// posted yet: then the reply (and every request behind it) waits until they are, without holding the loop.
    private func writeRead(_ reply: (line: [UInt8], zxid: Zxid)) {
        guard !server.watches.isDelivered(reply.zxid) else {
            takeInbox()
            return writeReply(reply.line)
        }
        let line = reply.line
        let finish = later { (handler, _: Void) in
            handler.takeInbox()
            handler.writeReply(line)
        }
        server.watches.whenDelivered(reply.zxid) { finish(()) }
    }

    /// Writes what other threads posted to this connection (see `ConnectionInbox`). Also done before a read's
    /// reply (`writeRead`), as NIO may read a socket before it runs a task queued earlier.
    private func takeInbox() {
        guard let handle else { return }
        for item in handle.inbox.take() {
            switch item {
            case .completed(let id, let multi, let result):
                changesInFlight -= 1
                writeReply(Self.changeReply(id: id, multi: multi, result).line(reusing: replyStorage()))
            case .lines(let lines):
                for line in lines { write(line) }
            case .close:
                return close()
            case .drain:
                draining = true
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        server.logger.debug("connection error", metadata: ["error": "\(error)"])
        close()
    }

    // MARK: Running requests in order

    /// Runs a request as it arrives when nothing is queued ahead of it and it can run now (the common case:
    /// no copy into and out of the queue), else queues it.
    private func receive(_ pending: Pending) {
        if queue.isEmpty, start(pending) { return }
        queue.append(pending)
    }

    private func pump() {
        while let next = queue.first, start(next) { queue.removeFirst() }
        if draining, requestsInFlight == 0, !waiting { return closeAfterReplies() }
        if readHeld, requestsInFlight <= server.configuration.maxRequestsInFlight / 2, let context {
            readHeld = false
            context.read()
        }
    }

    /// Requests read and not yet answered: queued, or changes in the store.
    private var requestsInFlight: Int { queue.count + changesInFlight }

    func read(context: ChannelHandlerContext) {
        if requestsInFlight >= server.configuration.maxRequestsInFlight {
            readHeld = true
        } else {
            context.read()
        }
    }

    /// Starts `next` if its turn has come, or answers it; false when it must wait. Changes may be in flight
    /// together (the store keeps their order); anything else waits for the changes before it, so a read sees
    /// the writes sent ahead of it on the same connection, and for a request that completes later.
    private func start(_ next: Pending) -> Bool {
        guard !closing, !waiting else { return false }
        switch next.request {
        case .success(let request) where request.isChange:
            guard let session = liveSession(orReplyTo: next.id, canReplyNow: changesInFlight == 0) else {
                return changesInFlight == 0  // answered with an error, or waiting until it can be
            }
            let change: Request =
                switch request {
                case .multi(let operations): .multi(operations)
                case .change(let operation): .operation(operation)
                default: preconditionFailure("not a change")
                }
            submit(change, id: next.id, session: session)
        case .success(let request):
            guard changesInFlight == 0 else { return false }
            run(request, id: next.id)
        case .failure(let error):
            guard changesInFlight == 0 else { return false }
            write(ErrorReply(error).line(id: next.id))
            if next.closesConnection { closeAfterReplies() }
        }
        return true
    }

    /// The connection's session after touching it; nil (having replied when `canReplyNow`) when there is none.
    private func liveSession(orReplyTo id: Int64?, canReplyNow: Bool) -> SessionID? {
        guard let session else {
            if canReplyNow { write(ErrorReply(.sessionRequired).line(id: id)) }
            return nil
        }
        guard server.sessions.touch(session) else {
            if canReplyNow {
                write(ErrorReply(.sessionExpired(session)).line(id: id))
                close()
            }
            return nil
        }
        return session
    }

    private func submit(_ request: Request, id: Int64?, session: SessionID) {
        guard let inbox = handle?.inbox else { return }
        changesInFlight += 1
        let multi = if case .multi = request { true } else { false }
        server.store.submit(request, session: session) { result in
            // The reply needs the zxid and results only: the change (its data, paths) stays with the writer
            // thread, which allocated it and frees it with its batch.
            inbox.post(.completed(id: id, multi: multi, result.map { Committed(zxid: $0.zxid, results: $0.results) }))
        }
    }

    private func run(_ command: ClientRequest, id: Int64?) {
        if case .connect(let timeout, let resume) = command {
            return connect(id: id, timeout: timeout, resume: resume)
        }
        // A probe (ping, stats) needs no session: it must answer while the store cannot write one.
        let isProbe =
            switch command {
            case .ping, .stats: true
            default: false
            }
        var session: SessionID?
        if self.session != nil || !isProbe {
            guard let live = liveSession(orReplyTo: id, canReplyNow: true) else { return }
            session = live
        }
        do {
            switch command {
            case .connect, .change, .multi: break
            case .ping: write(Reply.done.line(id: id, zxid: try currentZxid()))
            case .close: if let session { closeSession(session, id: id) }
            case .get(let path, let watch): writeRead(try get(id: id, path: path, watch: watch))
            case .exists(let path, let watch): writeRead(try exists(id: id, path: path, watch: watch))
            case .children(let path, let watch): writeRead(try children(id: id, path: path, watch: watch))
            case .sync(let path): write(Reply.synced(path: path).line(id: id, zxid: try currentZxid()))
            case .addWatch(let path, let recursive, let since):
                try addWatch(path, recursive: recursive, since: since, id: id)
            case .removeWatch(let path):
                let removed = server.watches.remove(on: path, for: connectionID)
                write(Reply.watchRemoved(count: removed).line(id: id, zxid: try currentZxid()))
            case .stats: write(ReplyLine(id: id, try server.statistics()).line())
            case .dump(let path, let stat): dump(path, stat: stat, id: id)
            case .snapshot: snapshot(id: id)
            case .listSnapshots: write(ReplyLine(id: id, try server.snapshotList()).line())
            }
        } catch {
            write(ErrorReply((error as? CairnError) ?? .internal("\(error)")).line(id: id))
        }
    }

    var connectionID: ConnectionID { handle?.id ?? 0 }

    func currentZxid() throws -> Zxid { try server.store.read { try $0.zxid } }

    // MARK: Requests that complete later

    /// A completion callable from any thread: runs `body` on this connection's event loop, then lets the
    /// requests queued behind it go on.
    func later<T: Sendable>(_ body: @escaping (ConnectionHandler, T) -> Void) -> @Sendable (T) -> Void {
        let eventLoop = context!.eventLoop
        let bound = NIOLoopBound((handler: self, body: body), eventLoop: eventLoop)
        waiting = true
        return { value in
            eventLoop.execute {
                let (handler, body) = bound.value
                handler.flushSoon()
                body(handler, value)
                handler.waiting = false
                handler.pump()
            }
        }
    }

    private func connect(id: Int64?, timeout requested: Int64, resume: SessionCredentials?) {
        guard session == nil else {
            write(ErrorReply(.badArguments("this connection already has a session")).line(id: id))
            return
        }
        if let resume {
            let resumed = server.sessions.resume(resume.id, password: resume.password, connection: connectionID)
            guard let (timeout, previous, endedGrace) = resumed else {
                write(ErrorReply(.sessionExpired(resume.id)).line(id: id))
                return
            }
            if let endedGrace { server.store.recordSessionTimes([endedGrace]) { _ in } }
            if let previous, previous != connectionID {
                server.connections.handle(previous)?.channel.close(promise: nil)
            }
            session = resume.id
            let reply = Reply.connected(session: resume.id, password: nil, timeoutMilliseconds: timeout)
            write(reply.line(id: id, zxid: (try? currentZxid()) ?? 0))
            return
        }
        let configuration = server.configuration
        let timeout = min(
            max(requested, configuration.minSessionTimeoutMilliseconds), configuration.maxSessionTimeoutMilliseconds)
        var generator = SystemRandomNumberGenerator()
        let newID = SessionID(rawValue: UInt64.random(in: 1...UInt64.max, using: &generator))
        let password = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let hash = SessionTable.hash(password)
        let connection = connectionID
        let sessions = server.sessions
        let finish = later { (handler, result: Result<Committed, CairnError>) in
            switch result {
            case .success(let committed):
                handler.session = newID
                let reply = Reply.connected(session: newID, password: password, timeoutMilliseconds: timeout)
                handler.write(reply.line(id: id, zxid: committed.zxid))
            case .failure(let error):
                handler.write(ErrorReply(error).line(id: id))
            }
        }
        server.store.submit(.createSession(id: newID, timeoutMilliseconds: timeout, passwordHash: hash)) { result in
            // In the table even if the connection is gone by now: the session must still expire.
            if case .success = result {
                sessions.open(newID, timeoutMilliseconds: timeout, passwordHash: hash, connection: connection)
            }
            finish(result)
        }
    }

    private func closeSession(_ session: SessionID, id: Int64?) {
        server.sessions.beginClose(session)
        let sessions = server.sessions
        let finish = later { (handler, result: Result<Committed, CairnError>) in
            handler.write(Self.changeReply(id: id, multi: false, result).line())
            handler.session = nil
            handler.close()
        }
        server.store.submit(.closeSession(session)) { result in
            sessions.remove(session)
            finish(result)
        }
    }

    private func addWatch(_ path: ZNodePath, recursive: Bool, since: Zxid?, id: Int64?) throws {
        let limit = server.configuration.maxWatchesPerConnection
        let connection = connectionID
        let watches = server.watches
        guard let since, since < (try currentZxid()) else {
            let zxid = try watches.addPersistent(
                on: path, recursive: recursive, for: connection, limit: limit, buffering: false)
            write(Reply.watchAdded(replayed: 0).line(id: id, zxid: zxid))
            return
        }
        // Live events after `firedZxid` wait in the watch while history up to it is replayed.
        let firedZxid = try watches.addPersistent(
            on: path, recursive: recursive, for: connection, limit: limit, buffering: true)
        let finish = later { (handler, outcome: Result<[[UInt8]], CairnError>) in
            switch outcome {
            case .success(let lines):
                for line in lines { handler.write(line) }
                handler.write(Reply.watchAdded(replayed: lines.count).line(id: id, zxid: firedZxid))
                for line in watches.finishReplay(on: path, for: connection) { handler.write(line) }
            case .failure(let error):
                watches.remove(on: path, for: connection)
                handler.write(ErrorReply(error).line(id: id))
            }
        }
        let store = server.store
        NIOThreadPool.singleton.submit { _ in
            do {
                var lines: [[UInt8]] = []
                for change in try store.history(after: since) where change.zxid <= firedZxid {
                    for effect in change.effects {
                        for notification in WatchNotification.of(effect)
                        where notification.reaches(persistentWatchOn: path, recursive: recursive) {
                            lines.append(notification.line(zxid: change.zxid))
                        }
                    }
                }
                finish(.success(lines))
            } catch {
                finish(.failure((error as? CairnError) ?? .internal("reading history: \(error)")))
            }
        }
    }

    /// The reply to a change: a single op's result, or a multi's (a session change has none).
    static func changeReply(id: Int64?, multi: Bool, _ result: Result<Committed, CairnError>) -> ReplyLine {
        switch result {
        case .failure(let error): ReplyLine(id: id, .failed(ErrorReply(error)))
        case .success(let committed):
            ReplyLine(
                id: id,
                .ok(
                    zxid: committed.zxid,
                    multi ? .multi(committed.results) : committed.results.first.map { .changed($0) } ?? .done))
        }
    }

    // MARK: Output

    /// Flushes after the tasks already queued on the event loop (the rest of a batch's completions).
    func flushSoon() {
        guard !flushQueued, let context else { return }
        flushQueued = true
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let handler = bound.value
            handler.flushQueued = false
            handler.flush()
        }
    }

    /// Storage for the next reply: the spare one, taken (so the writer owns it alone).
    func replyStorage() -> [UInt8] {
        var storage: [UInt8] = []
        swap(&storage, &spareReply)
        return storage
    }

    /// `write`, keeping the line as the next reply's storage unless it is large (a connection holds no
    /// more than 4 KiB for this).
    func writeReply(_ line: [UInt8]) {
        write(line)
        if line.capacity <= 4096 { spareReply = line }
    }

    /// Adds a line to the output; every 64 KiB go to the channel, so its outbound bound (a slow reader is
    /// disconnected) sees them.
    func write(_ line: [UInt8]) {
        output.writeBytes(line)
        if output.readableBytes >= 64 << 10 { writeOutput() }
    }

    private func writeOutput() {
        guard output.readableBytes > 0, let context else { return }
        let chunk = output
        output.clear()  // before the write: it may re-enter (writability → close → flush)
        context.write(wrapOutboundOut(chunk), promise: nil)
    }

    private func flush() {
        writeOutput()
        context?.flush()
    }

    private func close() {
        guard !closing else { return }
        closing = true
        flush()
        context?.close(promise: nil)
    }

    /// Shuts our side down so the replies reach the client even though it is still sending (closing
    /// with unread input would reset the connection and lose them), discards what it sends, and closes
    /// for good when it does or after two seconds.
    private func closeAfterReplies() {
        guard !closing, let context else { return }
        closing = true
        flush()
        context.close(mode: .output, promise: nil)
        let channel = context.channel
        context.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
    }
}

@available(*, unavailable)
extension ConnectionHandler: Sendable {}
