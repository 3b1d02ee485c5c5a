/// Who sent a request, as the configured authentication established it.
public struct Principal: Sendable, Equatable, CustomStringConvertible {
    /// The user name (HTTP Basic) or the token's subject claim (OIDC). Tasks are owned by it.
    public var subject: String
    /// The token's group claim values; empty for HTTP Basic.
    public var groups: [String]

    public init(subject: String, groups: [String] = []) {
        self.subject = subject
        self.groups = groups
    }

    public var description: String { subject }
}
