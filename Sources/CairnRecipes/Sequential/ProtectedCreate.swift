import Cairn
import Foundation

extension CairnClient {
    /// Creates a sequential node `directory/<protection><prefix><suffix>` and returns its name, protected as Curator's
    /// protection mode does. The name begins `_c_<GUID>-`, the GUID chosen before the first attempt: when the
    /// connection drops with a create's reply unheard, the node that create may have made is looked for by its GUID
    /// rather than made a second time (a second candidate would wait behind the first, its own orphan, until the
    /// session ends; a second registration would be listed twice), and once a create is heard any other node with
    /// the GUID, an orphan of an attempt before, is deleted.
    func createProtected(in directory: String, prefix: String, data: [UInt8], mode: CreateMode) async throws -> String {
        try await createParents(directory)
        let protected = "_c_" + UUID().uuidString.lowercased() + "-" + prefix
        var attempted = false
        while true {
            do {
                if attempted, let found = try await nodes(in: directory, named: protected).first { return found }
                let path = try await create(directory + "/" + protected, data: data, mode: mode, sequential: true)
                let name = String(path.split(separator: "/").last!)
                if attempted {
                    for orphan in try await nodes(in: directory, named: protected) where orphan != name {
                        try? await delete(directory + "/" + orphan)
                    }
                }
                return name
            } catch let error as ClientError where error == .connectionLoss || error == .timedOut {
                attempted = true
            }
        }
    }

    /// The nodes in `directory` whose names begin with `protected` (one participant's GUID).
    private func nodes(in directory: String, named protected: String) async throws -> [String] {
        try await children(directory).filter { $0.hasPrefix(protected) }.sorted(by: SequentialQueue.bySequence)
    }

    /// `name` without a protection prefix (`_c_<GUID>-`, 40 characters with a UUID, as Curator writes it).
    static func unprotected(_ name: String) -> Substring {
        name.hasPrefix("_c_") && name.count > 40 ? name.dropFirst(40) : name[...]
    }
}
