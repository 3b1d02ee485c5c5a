/// Why a request's credentials were refused. The reason is safe to log and to send back: it never holds the
/// password or the token.
public struct AuthenticationError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// No credentials, or credentials of another scheme.
        case missing
        /// Credentials that do not prove who the caller is (wrong password, bad signature, expired, …).
        case invalid
        /// The identity provider could not be asked (JWKS unreachable): not the caller's fault.
        case unavailable
        /// Too many checks of this user's password at once (HTTP 429): guessing is slowed down, not queued.
        case throttled
    }

    public let code: Code
    public let reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { reason }
}
