import CairnCore
import CairnProtocol
import FoundationEssentials
import NIOHTTP1
import Synchronization

/// What the admin listener answers, by path: probes for orchestrators (`/healthz`, `/readyz`), the `stats` figures
/// as JSON (`/status`) and Prometheus metrics (`/metrics`). None opens a session or writes to the WAL. Once
/// credentials are configured (`AccessPolicy.restrictsOperations`), `/status` and `/metrics` need an operator's or
/// the super user's `user:password` as HTTP Basic authorization; the probes stay open.
final class AdminRoutes: Sendable {
    struct Response: Sendable {
        var status: HTTPResponseStatus
        var contentType = "text/plain; charset=utf-8"
        var headers: [(String, String)] = []
        var body: [UInt8]

        init(_ status: HTTPResponseStatus, _ text: String) {
            self.status = status
            body = Array((text + "\n").utf8)
        }
    }

    private let metrics: PrometheusMetrics
    private let access: AccessPolicy
    /// nil until the store is open and the server built (recovery may take a while).
    private let server = Mutex<CairnServer?>(nil)

    init(metrics: PrometheusMetrics, access: AccessPolicy) {
        self.metrics = metrics
        self.access = access
    }

    /// From now on requests are answered with `server`'s figures.
    func serve(_ server: CairnServer) { self.server.withLock { $0 = server } }

    func respond(method: HTTPMethod, uri: String, authorization: String?) async -> Response {
        let path = uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? uri
        guard method == .GET || method == .HEAD else {
            var response = Response(.methodNotAllowed, "only GET and HEAD")
            response.headers = [("Allow", "GET, HEAD")]
            return response
        }
        let server = server.withLock { $0 }
        switch path {
        case "/healthz": return Response(.ok, "ok")
        case "/readyz":
            guard let server else { return Response(.serviceUnavailable, "not ready: recovering the store") }
            if let reason = server.unreadiness { return Response(.serviceUnavailable, "not ready: \(reason)") }
            return Response(.ok, "ready")
        case "/status", "/metrics":
            if let refusal = refusal(authorization) { return refusal }
            guard let server else { return Response(.serviceUnavailable, "not ready: recovering the store") }
            return path == "/status" ? status(server) : await exposition(server)
        default: return Response(.notFound, "no such page; try /healthz, /readyz, /status or /metrics")
        }
    }

    private func status(_ server: CairnServer) -> Response {
        guard case .ok(let zxid, let reply)? = try? server.executor.statistics() else {
            return Response(.internalServerError, "the figures could not be read")
        }
        var response = Response(.ok, "")
        response.contentType = "application/json"
        response.body = reply.line(id: nil, zxid: zxid)
        return response
    }

    private func exposition(_ server: CairnServer) async -> Response {
        let durations = await server.refreshMetrics()
        var response = Response(.ok, "")
        response.contentType = "text/plain; version=0.0.4; charset=utf-8"
        response.body = metrics.exposition() + durations
        return response
    }

    /// nil when the request may read the figures.
    private func refusal(_ authorization: String?) -> Response? {
        guard access.restrictsOperations else { return nil }
        var identity = Identity()
        if let credentials = Self.basicCredentials(authorization) {
            try? access.authenticate(scheme: "digest", credentials: credentials, into: &identity)
        }
        if access.mayOperate(identity) { return nil }
        var response = Response(.unauthorized, "an operator's or the super user's user:password is needed (Basic)")
        response.headers = [("WWW-Authenticate", #"Basic realm="cairn""#)]
        return response
    }

    /// `user:password` from an `Authorization: Basic …` header.
    static func basicCredentials(_ header: String?) -> String? {
        guard let header, header.count > 6, header.prefix(6).lowercased() == "basic " else { return nil }
        guard let decoded = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces))
        else { return nil }
        return String(data: decoded, encoding: .utf8)
    }
}
