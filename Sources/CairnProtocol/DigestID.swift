import CairnCore
import Crypto
import FoundationEssentials

/// ZooKeeper's `digest` scheme: credentials `user:password` prove the id `user:base64(sha1("user:password"))`, the
/// form ACL entries, `--super-digest` and ZooKeeper's own tools use (so digests move between them unchanged).
public enum DigestID {
    /// The id `credentials` (`user:password`) prove; `authFailed` when there is no `:`.
    public static func of(_ credentials: String) throws(CairnError) -> String {
        guard let colon = credentials.firstIndex(of: ":") else {
            throw .authFailed("digest credentials must be user:password")
        }
        let hash = Insecure.SHA1.hash(data: Array(credentials.utf8))
        return "\(credentials[..<colon]):\(Data(hash).base64EncodedString())"
    }
}
