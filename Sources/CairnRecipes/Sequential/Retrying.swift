import Cairn

/// Runs `body` again after each connection loss, session expiry or timeout (the client reconnects by itself) until it
/// returns or throws anything else: for the reads a cache makes on an event, which must not be lost to a dropped
/// connection.
func retryingConnectionLoss<T: Sendable>(_ body: () async throws -> T) async throws -> T {
    while true {
        do {
            return try await body()
        } catch let error as ClientError
            where error == .connectionLoss || error == .sessionExpired || error == .timedOut
        {
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}

extension CairnClient {
    /// The node at `path`, nil when there is none.
    func getIfExists(_ path: String) async throws -> NodeData? {
        do {
            return try await get(path)
        } catch let error as ClientError where error.code == .noNode {
            return nil
        }
    }

    /// What `createOnce` found.
    enum CreatedOnce: Equatable {
        /// This create made the node.
        case made
        /// The node is this session's ephemeral node, made before (by an attempt whose reply was lost, or earlier).
        case thisSession
        /// The node is not known to be this session's: another session's ephemeral node, or a persistent node (whose
        /// maker is not recorded).
        case another
    }

    /// Creates `path` once: a create retried after a lost reply finds the node made instead of failing.
    func createOnce(_ path: String, data: [UInt8] = [], mode: CreateMode) async throws -> CreatedOnce {
        while true {
            do {
                try await create(path, data: data, mode: mode)
                return .made
            } catch let error as ClientError where error == .connectionLoss || error == .timedOut {
                continue
            } catch let error as ClientError where error.code == .nodeExists {
                guard let owner = try await exists(path)?.ephemeralOwner else { return .another }
                return owner.hex == sessionID ? .thisSession : .another
            }
        }
    }

    /// Creates the ephemeral node `path` once (`createOnce`); a node another session holds throws `node_exists`.
    func createEphemeralOnce(_ path: String) async throws {
        guard try await createOnce(path, mode: .ephemeral) != .another else {
            throw ClientError.server(code: .nodeExists, message: "\(path) is another session's")
        }
    }
}
