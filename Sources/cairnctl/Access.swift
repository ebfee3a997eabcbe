import ArgumentParser
import Cairn
import CairnCore
import CairnProtocol

/// `cairnctl digest user:password`: the digest id for ACLs, `--super-digest` and `--admin-digest`.
struct Digest: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the digest id of user:password (ZooKeeper's form: user:base64(sha1(user:password))).")

    @Argument(help: "user:password") var credentials: String

    func run() throws {
        do {
            emit(try DigestID.of(credentials))
        } catch {
            throw ValidationError("\(error)")
        }
    }
}

/// `cairnctl acl get|set`: a node's ACL, in zkCli's text form `scheme:id:perms` (perms from `cdrwa`).
struct ACLCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "acl", abstract: "Read or replace a node's ACL.", subcommands: [Get.self, Set.self])

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a node's ACL, an entry a line.", usage: "cairnctl acl get [<options>] <path>")
        @OptionGroup var live: LiveOptions
        @Argument(help: "Node path.") var path: String

        func run() async throws {
            let (acl, stat) = try await live.withClient { try await $0.getACL(path) }
            if live.json {
                printJSON([
                    "aversion": Int(stat.aversion),
                    "acl": acl.map {
                        ["perms": Int($0.permissions.rawValue), "scheme": $0.principal.scheme, "id": $0.principal.id]
                    },
                ])
            } else {
                for entry in acl { emit(ACLText.format(entry)) }
            }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace a node's ACL.", usage: "cairnctl acl set [<options>] <path> <acl>",
            discussion:
                "Entries as zkCli writes them, comma-separated: world:anyone:r,digest:bob:<hash>:cdrwa,ip:10.0.0.0/8:r")
        @OptionGroup var live: LiveOptions
        @Argument(help: "Node path.") var path: String
        @Argument(help: "The new ACL.") var acl: String
        @Option(help: "Expected aversion (-1: any).") var version: Int32 = -1

        func run() async throws {
            let entries = try ACLText.parse(acl)
            let stat = try await live.withClient { try await $0.setACL(path, acl: entries, version: version) }
            if live.json { printJSON(["aversion": Int(stat.aversion)]) }
        }
    }
}

/// zkCli's ACL text: `scheme:id:perms`, the id possibly holding colons (digest), perms letters of `cdrwa`.
enum ACLText {
    private static let letters: [(Character, Permissions)] = [
        ("c", .create), ("d", .delete), ("r", .read), ("w", .write), ("a", .admin),
    ]

    static func format(_ entry: ACLEntry) -> String {
        let perms = String(letters.filter { entry.permissions.contains($0.1) }.map(\.0))
        return "\(entry.principal.scheme):\(entry.principal.id):\(perms)"
    }

    static func parse(_ text: String) throws -> ACL {
        ACL(
            try text.split(separator: ",").map { item in
                guard let first = item.firstIndex(of: ":"), let last = item.lastIndex(of: ":"), first < last else {
                    throw ValidationError("an ACL entry is scheme:id:perms, not \(item)")
                }
                var permissions: Permissions = []
                for letter in item[item.index(after: last)...] {
                    guard let bit = letters.first(where: { $0.0 == letter })?.1 else {
                        throw ValidationError("permissions are letters of cdrwa, not \(letter)")
                    }
                    permissions.insert(bit)
                }
                let principal = Principal(
                    scheme: String(item[..<first]), id: String(item[item.index(after: first)..<last]))
                return ACLEntry(permissions, principal)
            })
    }
}
