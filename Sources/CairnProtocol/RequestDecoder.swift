import CairnCore
import FoundationEssentials

/// Reads a request line (the server's side of `ClientRequest.line(id:)`): the fast `RequestScanner` for the usual
/// shape, `JSONDecoder` for the rest (and for the wording of errors); then checks each op's fields.
public struct RequestDecoder: Sendable {
    public let maxOpsPerMulti: Int
    private let decoder = JSONDecoder()

    public init(maxOpsPerMulti: Int) { self.maxOpsPerMulti = maxOpsPerMulti }

    /// The request's id (when it has a readable one) and the request or the error to reply with; nil for a blank
    /// line.
    public func decode(_ line: UnsafeRawBufferPointer) -> (id: Int64?, request: Result<ClientRequest, CairnError>)? {
        if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) { return nil }
        let request: WireRequest
        do {
            if let scanned = RequestScanner.parse(line) {
                request = scanned
            } else if let key = RepeatedKeys.first(in: line) {
                throw CairnError.malformed("the key \"\(key)\" is given twice")
            } else {
                request = try decoder.decode(WireRequest.self, from: Data(line))
            }
        } catch {
            // Only a request that does not decode is read a second time, for the id its error reply carries.
            let id = (try? decoder.decode(WireRequestID.self, from: Data(line)))?.id
            return (id, .failure(error as? CairnError ?? .malformed(Self.describe(error))))
        }
        guard let id = request.id else { return (nil, .failure(.malformed("a request needs an integer \"id\""))) }
        do {
            return (id, .success(try clientRequest(request)))
        } catch {
            return (request.id, .failure(error))
        }
    }

    private func clientRequest(_ r: WireRequest) throws(CairnError) -> ClientRequest {
        guard let op = r.op else { throw .badArguments("a request needs an \"op\"") }
        switch op {
        case "connect":
            let timeout = r.timeoutMs ?? 10_000
            switch (r.sessionId, r.password) {
            case (nil, nil): return .connect(timeoutMilliseconds: timeout, resume: nil)
            case (let hex?, let password?):
                guard let id = SessionID(hex: hex) else { throw .badArguments("session_id must be 16 hex digits") }
                guard let bytes = Data(base64Encoded: password) else { throw .badArguments("password must be base64") }
                return .connect(
                    timeoutMilliseconds: timeout, resume: SessionCredentials(id: id, password: Array(bytes)))
            default: throw .badArguments("resuming a session needs both session_id and password")
            }
        case "ping": return .ping
        case "close": return .close
        case "create", "set", "delete", "check", "set_acl": return .change(try operation(op, r))
        case "multi":
            let operations = try subOps(of: r, "multi") { (sub) throws(CairnError) in
                guard let subOp = sub.op, ["create", "set", "delete", "check", "restore_counters"].contains(subOp)
                else {
                    throw CairnError.badArguments("a multi op must be create, set, delete, check or restore_counters")
                }
                return try operation(subOp, sub)
            }
            return r.results == false ? .bulk(operations) : .multi(operations)
        case "read_multi":
            return .readMulti(
                try subOps(of: r, "read_multi") { (sub) throws(CairnError) in
                    switch sub.op {
                    case "get": return .get(try path(sub))
                    case "children": return .children(try path(sub))
                    default: throw CairnError.badArguments("a read_multi op must be get or children")
                    }
                })
        case "get": return .get(try path(r), watch: r.watch ?? false)
        case "exists": return .exists(try path(r), watch: r.watch ?? false)
        case "children": return .children(try path(r), watch: r.watch ?? false)
        case "sync": return .sync(r.path == nil ? .root : try path(r))
        case "add_watch": return .addWatch(try path(r), recursive: r.recursive ?? false, since: r.sinceZxid)
        case "remove_watch": return .removeWatch(try path(r), try selection(r))
        case "count_watches": return .countWatches(try path(r), try selection(r))
        case "stats": return .stats
        case "dump": return .dump(r.path == nil ? .root : try path(r))
        case "snapshot": return .snapshot
        case "snapshots": return .listSnapshots
        case "auth":
            guard let scheme = r.scheme, let credentials = r.credentials else {
                throw .badArguments("auth needs \"scheme\" and \"credentials\"")
            }
            return .auth(scheme: scheme, credentials: credentials)
        case "get_acl": return .getACL(try path(r))
        case "whoami": return .whoAmI
        case "count_descendants": return .descendantCount(try path(r))
        case "ephemerals":
            guard let hex = r.sessionId else { return .ephemerals(prefix: r.prefix ?? "") }
            guard let id = SessionID(hex: hex) else { throw .badArguments("session_id must be 16 hex digits") }
            return .ephemerals(prefix: r.prefix ?? "", of: id)
        case "sessions": return .sessions
        case "set_watches":
            func paths(_ raw: [String]?) throws(CairnError) -> [ZNodePath] {
                var paths: [ZNodePath] = []
                for path in raw ?? [] { paths.append(try ZNodePath(path)) }
                return paths
            }
            return .restoreWatches(
                WatchRestore(
                    relativeZxid: r.relativeZxid ?? 0, data: try paths(r.dataWatches), exist: try paths(r.existWatches),
                    child: try paths(r.childWatches), persistent: try paths(r.persistentWatches),
                    persistentRecursive: try paths(r.recursiveWatches)))
        default: throw .unknownOp(op)
        }
    }

    /// The `ops` of a multi or read_multi (at most `maxOpsPerMulti`), each read by `read`; one that fails fails the
    /// request with its index.
    private func subOps<T>(
        of r: WireRequest, _ name: String, _ read: (WireRequest) throws(CairnError) -> T
    ) throws(CairnError) -> [T] {
        guard let ops = r.ops else { throw .badArguments("\(name) needs \"ops\"") }
        guard ops.count <= maxOpsPerMulti else {
            throw .tooLarge("\(name) has \(ops.count) ops; the limit is \(maxOpsPerMulti)")
        }
        var results: [T] = []
        results.reserveCapacity(ops.count)
        for index in ops.indices {
            do throws(CairnError) {
                results.append(try read(ops[index]))
            } catch {
                throw .multiFailed(index: index, cause: error)
            }
        }
        return results
    }

    private func operation(_ op: String, _ r: WireRequest) throws(CairnError) -> Operation {
        switch op {
        case "create":
            guard let raw = r.path else { throw .badArguments("create needs a \"path\"") }
            return .create(
                path: raw, data: try requestData(r), kind: try kind(r), sequential: r.sequential ?? false,
                acl: r.acl.map { ACL($0.map(\.entry)) } ?? .open)
        case "set": return .setData(path: try path(r), data: try requestData(r), version: r.version ?? -1)
        case "delete": return .delete(path: try path(r), version: r.version ?? -1)
        case "set_acl":
            guard let acl = r.acl else { throw .badArguments("set_acl needs an \"acl\"") }
            return .setACL(path: try path(r), acl: ACL(acl.map(\.entry)), version: r.aversion ?? -1)
        case "restore_counters":
            return .restoreCounters(
                path: try path(r),
                counters: NodeCounters(sequence: r.seq ?? 0, version: r.version ?? 0, aversion: r.aversion ?? 0))
        default:
            guard let version = r.version else { throw .badArguments("check needs a \"version\"") }
            return .check(path: try path(r), version: version)
        }
    }

    private func kind(_ r: WireRequest) throws(CairnError) -> NodeKind {
        let ephemeral = r.ephemeral ?? false
        let container = r.container ?? false
        switch (ephemeral, container, r.ttlMs) {
        case (false, false, nil): return .persistent
        case (true, false, nil): return .ephemeral
        case (false, true, nil): return .container
        case (false, false, let ttl?): return .persistentWithTTL(ttlMilliseconds: ttl)
        default: throw .badArguments("ephemeral, container and ttl_ms exclude each other")
        }
    }

    private func selection(_ r: WireRequest) throws(CairnError) -> WatchSelection {
        guard let raw = r.type else { return .any }
        guard let selection = WatchSelection(rawValue: raw) else {
            throw .badArguments(
                "type must be one of \(WatchSelection.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return selection
    }

    private func path(_ r: WireRequest) throws(CairnError) -> ZNodePath {
        guard let raw = r.path else { throw .badArguments("this op needs a \"path\"") }
        return try ZNodePath(raw)
    }

    /// Decodes a request's data: `data` (UTF-8 text, or null for ZooKeeper's null data) or `data_b64` (base64), not
    /// both; none is empty.
    private func requestData(_ request: WireRequest) throws(CairnError) -> [UInt8]? {
        switch (request.data, request.dataB64) {
        case (.text(let bytes)?, nil): return bytes
        case (.null?, nil): return nil
        case (nil, let encoded?):
            guard let data = Data(base64Encoded: encoded) else { throw .badArguments("data_b64 is not valid base64") }
            return Array(data)
        case (nil, nil): return []
        case (_?, _?): throw .badArguments("give data or data_b64, not both")
        }
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            return field.isEmpty ? "a request must be a JSON object" : "field \"\(field)\" has the wrong type"
        case DecodingError.dataCorrupted(let context):
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            return field.isEmpty ? "not valid JSON" : "field \"\(field)\" is invalid"
        default: return "not a valid request"
        }
    }
}
