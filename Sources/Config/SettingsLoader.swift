import Foundation
import TOMLKit

/// Builds ``Settings`` from the built-in defaults, a settings.toml profile and `TESP_…` environment variables.
///
/// Order, later wins: defaults, the file's `[default]` section, the chosen profile's section, then environment
/// variables named `TESP_<SECTION>__<KEY>` (for example `TESP_DB__MONGODB_URI`). A variable ending in `_FILE`
/// (`TESP_DB__MONGODB_URI_FILE=/run/secrets/uri`) sets the key from that file's content, for secrets.
/// Unknown keys, unknown variables and wrong types fail with a message that names them.
public enum SettingsLoader {
    /// The profile used when none is named.
    public static let defaultProfile = "default"

    /// Loads settings from the file at `path` (none: defaults and environment only).
    public static func load(
        path: String?,
        profile: String,
        environment: [String: String]
    ) throws(SettingsError) -> Settings {
        var text: String?
        if let path {
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw SettingsError("cannot read settings file \(path): \(error.localizedDescription)")
            }
        }
        return try load(toml: text, source: path ?? "(no file)", profile: profile, environment: environment) {
            try String(contentsOfFile: $0, encoding: .utf8)
        }
    }

    /// Loads settings from TOML text; `readFile` serves `_FILE` variables.
    public static func load(
        toml: String?,
        source: String,
        profile: String,
        environment: [String: String],
        readFile: (String) throws -> String
    ) throws(SettingsError) -> Settings {
        var tree = defaultsTree()
        if let toml {
            let file = try parse(toml, source: source)
            for (key, value) in file {
                guard case .table = value else {
                    throw SettingsError("\(source): top-level key '\(key)' must be a profile section such as [default]")
                }
            }
            if case .table(let section)? = file[defaultProfile] {
                try overlay(&tree, with: section, path: [], where: "\(source) [\(defaultProfile)]")
            }
            if profile != defaultProfile {
                guard case .table(let section)? = file[profile] else {
                    let known = file.keys.sorted().joined(separator: ", ")
                    throw SettingsError("\(source): no profile [\(profile)] (profiles: \(known))")
                }
                try overlay(&tree, with: section, path: [], where: "\(source) [\(profile)]")
            }
        } else if profile != defaultProfile {
            throw SettingsError("profile '\(profile)' needs a settings file")
        }
        try applyEnvironment(environment, to: &tree, readFile: readFile)
        let settings = try decode(tree)
        try settings.validate()
        return settings
    }

    private static func defaultsTree() -> [String: ConfigValue] {
        // Encoding the defaults cannot fail: Settings holds only strings, numbers, booleans and arrays.
        let data = try! JSONEncoder().encode(Settings())
        guard case .table(let table) = try! JSONDecoder().decode(ConfigValue.self, from: data) else {
            preconditionFailure("Settings encodes as a table")
        }
        return table
    }

    private static func parse(_ toml: String, source: String) throws(SettingsError) -> [String: ConfigValue] {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: toml)
        } catch let error as TOMLParseError {
            throw SettingsError("\(source): \(error.description) at \(error.source.begin.debugDescription)")
        } catch {
            throw SettingsError("\(source): \(error)")
        }
        let json = Data(table.convert(to: .json).utf8)
        guard case .table(let tree)? = try? JSONDecoder().decode(ConfigValue.self, from: json) else {
            throw SettingsError("\(source): could not read the TOML document")
        }
        return tree
    }

    private static func overlay(
        _ base: inout [String: ConfigValue],
        with top: [String: ConfigValue],
        path: [String],
        where location: String
    ) throws(SettingsError) {
        for (key, value) in top {
            let keyPath = (path + [key]).joined(separator: ".")
            guard let existing = base[key] else {
                throw SettingsError("\(location): unknown setting '\(keyPath)'")
            }
            switch (existing, value) {
            case (.table(var nested), .table(let topNested)):
                try overlay(&nested, with: topNested, path: path + [key], where: location)
                base[key] = .table(nested)
            case (.table, _):
                throw SettingsError("\(location): '\(keyPath)' must be a table")
            default:
                base[key] = value
            }
        }
    }

    private static func applyEnvironment(
        _ environment: [String: String],
        to tree: inout [String: ConfigValue],
        readFile: (String) throws -> String
    ) throws(SettingsError) {
        for (name, rawValue) in environment.sorted(by: { $0.key < $1.key }) {
            // TESP_BACKENDS: the one top-level setting, a JSON array of backend tables.
            guard name.hasPrefix("TESP_"), name.contains("__") || name == "TESP_BACKENDS" else { continue }
            var path = name.dropFirst("TESP_".count).lowercased().components(separatedBy: "__")
            var value = rawValue
            if lookup(path, in: tree) == nil, let last = path.last, last.hasSuffix("_file") {
                path[path.count - 1] = String(last.dropLast("_file".count))
                do {
                    value = try readFile(rawValue)
                } catch {
                    throw SettingsError("\(name): cannot read \(rawValue): \(error.localizedDescription)")
                }
                while value.hasSuffix("\n") || value.hasSuffix("\r") { value.removeLast() }
            }
            guard let existing = lookup(path, in: tree) else {
                throw SettingsError("\(name): no setting '\(path.joined(separator: "."))'")
            }
            try set(path, to: parseEnvironmentValue(value, like: existing, variable: name), in: &tree)
        }
    }

    private static func lookup(_ path: [String], in tree: [String: ConfigValue]) -> ConfigValue? {
        guard let first = path.first, let value = tree[first] else { return nil }
        if path.count == 1 { return value }
        guard case .table(let nested) = value else { return nil }
        return lookup(Array(path.dropFirst()), in: nested)
    }

    private static func set(_ path: [String], to value: ConfigValue, in tree: inout [String: ConfigValue]) throws(SettingsError) {
        guard let first = path.first else { return }
        if path.count == 1 {
            tree[first] = value
            return
        }
        guard case .table(var nested)? = tree[first] else { return }
        try set(Array(path.dropFirst()), to: value, in: &nested)
        tree[first] = .table(nested)
    }

    private static func parseEnvironmentValue(
        _ text: String,
        like existing: ConfigValue,
        variable: String
    ) throws(SettingsError) -> ConfigValue {
        switch existing {
        case .string:
            return .string(text)
        case .int:
            // A whole-number default (65536.0 encodes as 65536) may belong to a Double setting: decoding decides.
            if let value = Int(text) { return .int(value) }
            guard let value = Double(text) else { throw SettingsError("\(variable): expected an integer") }
            return .double(value)
        case .double:
            guard let value = Double(text) else { throw SettingsError("\(variable): expected a number") }
            return .double(value)
        case .bool:
            switch text.lowercased() {
            case "true", "1", "yes": return .bool(true)
            case "false", "0", "no": return .bool(false)
            default: throw SettingsError("\(variable): expected true or false")
            }
        case .array:
            // A JSON array (`["admin","ops"]`), as TOML writes one; never a literal `["admin"]` entry.
            if text.trimmingCharacters(in: .whitespacesAndNewlines).hasPrefix("[") {
                guard let data = text.data(using: .utf8), let items = try? JSONDecoder().decode([ConfigValue].self, from: data)
                else { throw SettingsError("\(variable): starts with '[' but is not a JSON array") }
                return .array(items)
            }
            // Commas or lines: a `_FILE` variable may name a file with one entry per line (an htpasswd file).
            let items = text.split(whereSeparator: { $0 == "," || $0.isNewline }).map { $0.trimmingCharacters(in: .whitespaces) }
            return .array(items.filter { !$0.isEmpty }.map { .string($0) })
        case .table:
            throw SettingsError("\(variable): names a section, not a setting")
        }
    }

    private static func decode(_ tree: [String: ConfigValue]) throws(SettingsError) -> Settings {
        do {
            let data = try JSONEncoder().encode(ConfigValue.table(tree))
            return try JSONDecoder().decode(Settings.self, from: data)
        } catch let DecodingError.typeMismatch(type, context) {
            throw SettingsError("setting '\(dotted(context.codingPath))' has the wrong type: expected \(describe(type))")
        } catch let DecodingError.dataCorrupted(context) {
            throw SettingsError("setting '\(dotted(context.codingPath))' has the wrong type: \(context.debugDescription)")
        } catch {
            throw SettingsError("settings could not be read: \(error)")
        }
    }

    private static func dotted(_ path: [any CodingKey]) -> String {
        path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type: "an integer"
        case is Double.Type: "a number"
        case is Bool.Type: "true or false"
        case is String.Type: "a string"
        default: "\(type)"
        }
    }
}
