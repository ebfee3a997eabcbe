import CairnCore
import LMDB
import Logging

extension Environment {
    /// Doubles the map, up to `limit`; past it, throws `unavailable` (reads keep working).
    /// Call with no write transaction open.
    @available(*, noasync)
    func growMap(limit: Int, logger: Logger) throws {
        let current = info.mapSize
        guard current < limit else {
            throw CairnError.unavailable(
                "the store reached its size limit of \(limit) bytes; raise --max-store-size or delete data")
        }
        let grown = min(current * 2, limit)
        let start = SystemClock.monotonicMilliseconds()
        try setMapSize(grown)
        logger.info(
            "LMDB map grown",
            metadata: ["lmdb.mapSize": "\(grown)", "wait.ms": "\(SystemClock.monotonicMilliseconds() - start)"])
    }

    /// Grows the map until the store fills at most half of it (up to `limit`), so that it can grow that much
    /// while a long reader holds growth off: growing waits for every reader, and a snapshot's copy reads for
    /// seconds (a writer that filled the map during one used to wait the copy out).
    @available(*, noasync)
    func ensureHeadroom(limit: Int, logger: Logger) throws {
        while info.usedBytes * 2 > info.mapSize, info.mapSize < limit {
            try growMap(limit: limit, logger: logger)
        }
    }
}
