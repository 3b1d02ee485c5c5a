/// A setting that may hold a credential (a password in a URI, a token). It prints as `<redacted>`, so logging a
/// settings value never leaks it; code that needs the text reads ``value``.
public struct Secret: Codable, Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    public var value: String

    public init(_ value: String) { self.value = value }

    public init(from decoder: any Decoder) throws {
        value = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}
