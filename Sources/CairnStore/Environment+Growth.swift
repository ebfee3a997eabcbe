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
        try setMapSize(grown)
        logger.info("LMDB map grown", metadata: ["lmdb.mapSize": "\(grown)"])
    }
}
