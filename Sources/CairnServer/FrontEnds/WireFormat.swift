import CairnCore
import CairnProtocol
import NIOCore

/// What a front end's wire format does for `FrontEndHandler`: turn the bytes one connection delivers into requests,
/// and answers and events into bytes. One value per connection, on its event loop.
protocol WireFormat {
    /// Which front end this format is, in the metrics.
    static var frontEnd: FrontEnd { get }

    /// Which of a `PushedEvent`'s memos holds this format's bytes of it.
    static var eventMemo: PushedEvent.Memo { get }

    init(server: CairnServer)

    /// Decodes what arrived, appending each request it completes (or what to do instead), in order.
    mutating func read(_ buffer: ByteBuffer, into decoded: inout [Inbound])

    /// Writes the answer to the request with `id` into `output`; true when the connection must then close.
    mutating func write(_ answer: Answer, id: Int64?, into output: inout ByteBuffer) -> Bool

    static func encode(_ event: ServerEvent) -> [UInt8]

    /// What a connection refused at the door (the connection limit) is told before it is closed.
    static func refusal(_ error: CairnError) -> [UInt8]

    /// Where a streamed answer's events (dump, snapshot) are written, after what the connection wrote so far.
    static func stream(on channel: any Channel) -> any EventStream
}

/// What a format made of the bytes that arrived.
enum Inbound {
    /// A request, or the error to answer in its place.
    case request(ConnectionStateMachine.Received)
    /// Bytes to write as they are (ZooKeeper's four-letter words answer so).
    case bytes([UInt8])
    /// Close the connection now (what was written goes first).
    case close
}
