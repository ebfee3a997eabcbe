import CairnCore
import CairnProtocol
import NIOCore

/// The load generator's requests: the protocol's typed requests, written into a connection's outgoing buffer by
/// their encoder (`ClientRequest.line(id:)`), and what it reads of the replies (`ServerLine.summary`). Every
/// request but connect has id 1: a connection answers in order, so the generator matches replies by position.
struct RequestLines: Sendable {
    private let data: [UInt8]
    /// The ACL of every node the workload creates (`--acl`: one digest entry).
    let acl: ACL
    /// Sent after connect by every connection (`--acl`: the credentials the ACL names).
    let authentication: String?

    init(dataSize: Int, acl: ACL = .open, authentication: String? = nil) {
        data = Array(repeating: UInt8(ascii: "x"), count: dataSize)
        self.acl = acl
        self.authentication = authentication
    }

    /// What a connection sends before its load: connect, and auth when the run has credentials. Returns the
    /// number of replies to wait for.
    func handshake(into out: inout ByteBuffer) -> Int {
        out.writeBytes(ClientRequest.connect(timeoutMilliseconds: 30000, resume: nil).line(id: 0))
        guard let authentication else { return 1 }
        out.writeBytes(ClientRequest.auth(scheme: "digest", credentials: authentication).line(id: 0))
        return 2
    }

    func create(_ path: String, ephemeral: Bool = false, sequential: Bool = false, into out: inout ByteBuffer) {
        let kind: NodeKind = ephemeral ? .ephemeral : .persistent
        Self.write(.change(.create(path: path, data: data, kind: kind, sequential: sequential, acl: acl)), into: &out)
    }

    func set(_ path: ZNodePath, into out: inout ByteBuffer) {
        Self.write(.change(.setData(path: path, data: data, version: -1)), into: &out)
    }

    static func write(_ request: ClientRequest, into out: inout ByteBuffer) { out.writeBytes(request.line(id: 1)) }

    /// A path the generator made up (`/bench/…` and digits), valid by construction.
    static func path(_ string: String) -> ZNodePath {
        guard let path = try? ZNodePath(string) else {
            preconditionFailure("the generator made the bad path \(string)")
        }
        return path
    }

    /// Whether a line is an event, a success or an error (from its first bytes: see `ServerLine.summary`).
    static func summary(_ line: ByteBuffer) -> ServerLine.Summary { line.withUnsafeReadableBytes(ServerLine.summary) }

    /// The path a create's reply names.
    static func createdPath(_ reply: ByteBuffer) -> String? {
        reply.withUnsafeReadableBytes { bytes in
            ServerLine.createdPath(inReply: bytes).map { String(decoding: bytes[$0], as: UTF8.self) }
        }
    }
}
