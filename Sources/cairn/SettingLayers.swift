import Foundation
import Yams

/// Where `cairn serve`'s settings come from, highest first: a flag, a `CAIRN_` variable (the flag's name in capitals,
/// `_` for `-`), the `--config` file (YAML, keyed by the flags' names), the default. Every value is parsed the same
/// way whatever its source; one that does not parse, and a file key or `CAIRN_` variable that names no setting, is a
/// problem naming the key, the value and the source: the start stops on them rather than run on a default the
/// operator did not choose. What was resolved is kept, in order, for `--print-config`.
struct SettingLayers {
    enum Source: Equatable {
        case flag, environment, file, defaultValue
    }

    /// One resolved setting: its name, its value as a `--config` file writes it (nil: unset), and where it came from.
    struct Resolved {
        var name: String
        var yaml: String?
        var source: Source
    }

    private let flags: [String: String]
    private let environment: [String: String]
    private let file: [String: String]
    private let filePath: String?
    private(set) var problems: [String] = []
    private(set) var resolved: [Resolved] = []

    /// `CAIRN_` variables that belong to other programs (cairnctl's, the test tools'), not to `cairn serve`.
    static let othersVariables: Set<String> = ["CAIRN_SERVER", "CAIRN_AUTH", "CAIRN_BINARY", "CAIRN_SERVE_FLAGS"]

    /// `flags`: the flags given, by name, as text. `configFile`: the path of a YAML file of settings, read now.
    init(flags: [String: String], environment: [String: String], configFile: String?) {
        self.flags = flags
        self.environment = environment.filter { $0.key.hasPrefix("CAIRN_") }
        filePath = configFile
        var file: [String: String] = [:]
        if let configFile {
            do {
                file = try Self.read(configFile)
            } catch {
                problems.append("--config \(configFile): \(error)")
            }
        }
        self.file = file
    }

    /// A YAML mapping of setting names to single values, each as text.
    private static func read(_ path: String) throws -> [String: String] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        guard let loaded = try Yams.load(yaml: text) else { return [:] }
        guard let mapping = loaded as? [String: Any] else {
            throw SettingError("is not a mapping of setting names to values (e.g. data-dir: /var/lib/cairn)")
        }
        var values: [String: String] = [:]
        for (key, value) in mapping {
            switch value {
            case let text as String: values[key] = text
            case let flag as Bool: values[key] = flag ? "true" : "false"
            case let number as Int: values[key] = "\(number)"
            case is NSNull: continue
            default: throw SettingError("\(key) is not a single value (a string, a number, true or false)")
            }
        }
        return values
    }

    private struct SettingError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// The environment variable for setting `name`.
    static func variable(_ name: String) -> String {
        "CAIRN_" + name.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    /// The text for `name` from the highest source that has it, with that source's wording for problems.
    private func lookup(_ name: String) -> (text: String, source: Source, said: String)? {
        if let text = flags[name] { return (text, .flag, "--\(name) \(text)") }
        let variable = Self.variable(name)
        if let text = environment[variable] { return (text, .environment, "the environment's \(variable)=\(text)") }
        if let text = file[name], let filePath { return (text, .file, "\(filePath)'s \(name): \(text)") }
        return nil
    }

    /// Setting `name`: parsed by `parse` (nil: malformed, `expected` says what it must be) from its source, or
    /// `defaultValue`. `yaml` writes a value as a config file holds it.
    mutating func value<T>(
        _ name: String, default defaultValue: T, expected: String, yaml: (T) -> String, parse: (String) -> T?
    ) -> T {
        guard let (text, source, said) = lookup(name) else {
            resolved.append(Resolved(name: name, yaml: yaml(defaultValue), source: .defaultValue))
            return defaultValue
        }
        guard let value = parse(text) else {
            problems.append("\(said) is not \(expected)")
            return defaultValue
        }
        resolved.append(Resolved(name: name, yaml: yaml(value), source: source))
        return value
    }

    mutating func integer<T: FixedWidthInteger>(_ name: String, default defaultValue: T, minimum: T = .min) -> T {
        value(
            name, default: defaultValue, expected: minimum == .min ? "an integer" : "an integer of at least \(minimum)",
            yaml: { "\($0)" }, parse: { T($0).flatMap { $0 >= minimum ? $0 : nil } })
    }

    mutating func boolean(_ name: String, default defaultValue: Bool) -> Bool {
        value(
            name, default: defaultValue, expected: "true, false, 1 or 0", yaml: { $0 ? "true" : "false" },
            parse: {
                switch $0 {
                case "true", "1": true
                case "false", "0": false
                default: nil
                }
            })
    }

    mutating func text(_ name: String, default defaultValue: String, oneOf choices: [String]? = nil) -> String {
        value(
            name, default: defaultValue, expected: "one of \(choices?.joined(separator: ", ") ?? "")",
            yaml: Self.quoted,
            parse: { text in
                guard let choices else { return text }
                return choices.contains(text) ? text : nil
            })
    }

    /// A setting with no default (unset unless some source sets it).
    mutating func optionalText(_ name: String) -> String? {
        value(name, default: nil, expected: "text", yaml: { $0.map(Self.quoted) ?? "" }, parse: { $0 })
    }

    /// Notes a problem with a setting's value found after parsing (two settings that conflict, say).
    mutating func problem(_ text: String) { problems.append(text) }

    /// Notes, once every setting was read, the file keys and `CAIRN_` variables that name none.
    mutating func finish() {
        let names = Set(resolved.map(\.name))
        for key in file.keys.sorted() where !names.contains(key) {
            problems.append("\(filePath ?? "--config")'s \(key) is not a setting of cairn serve")
        }
        let variables = Set(names.map(Self.variable)).union(Self.othersVariables)
        for variable in environment.keys.sorted() where !variables.contains(variable) {
            problems.append("the environment's \(variable) is not a setting of cairn serve")
        }
    }

    /// The effective settings as a `--config` file (each line says where its value came from); loading it gives the
    /// same settings.
    var yaml: String {
        var lines = ["# cairn serve's effective settings: flag > CAIRN_ environment > --config file > default"]
        for setting in resolved {
            let source =
                switch setting.source {
                case .flag: "flag"
                case .environment: "environment"
                case .file: "file"
                case .defaultValue: "default"
                }
            if let value = setting.yaml, !value.isEmpty || setting.source != .defaultValue {
                lines.append("\(setting.name): \(value)  # \(source)")
            } else {
                lines.append("# \(setting.name): (not set)")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// A string as a YAML double-quoted scalar (JSON's escapes are YAML's).
    private static func quoted(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])) ?? Data()
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }
}
