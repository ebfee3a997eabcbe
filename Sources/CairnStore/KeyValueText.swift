/// The small `key=value` text files of a data directory (`LOCK`, snapshot manifests): pairs separated by
/// spaces or newlines; anything else (a title line) is ignored.
enum KeyValueText {
    static func parse(_ text: String) -> [Substring: Substring] {
        var fields: [Substring: Substring] = [:]
        for pair in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        return fields
    }
}
