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
    /// Creates the ephemeral node `path` once: a create retried after a lost reply finds the node this session made;
    /// a node another session holds throws `node_exists`.
    func createEphemeralOnce(_ path: String) async throws {
        while true {
            do {
                try await create(path, mode: .ephemeral)
                return
            } catch let error as ClientError where error == .connectionLoss || error == .timedOut {
                continue
            } catch let error as ClientError where error.code == .nodeExists {
                guard try await exists(path)?.ephemeralOwner?.hex == sessionID else { throw error }
                return
            }
        }
    }
}
