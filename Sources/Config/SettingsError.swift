/// Why settings could not be loaded; the message names the file, profile, key or variable at fault.
public struct SettingsError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }
}
