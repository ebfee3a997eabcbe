import CairnProtocol
import NIOCore

/// Hands each line from the server to the client and tells it when the connection closes.
final class ClientChannelHandler: ChannelInboundHandler {
    typealias InboundIn = JSONLineDecoder.Frame

    private let received: @Sendable ([UInt8]) -> Void
    private let closed: @Sendable (any Channel) -> Void

    init(received: @escaping @Sendable ([UInt8]) -> Void, closed: @escaping @Sendable (any Channel) -> Void) {
        self.received = received
        self.closed = closed
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .line(let buffer) = unwrapInboundIn(data) { received(Array(buffer.readableBytesView)) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed(context.channel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension ClientChannelHandler: Sendable {}
