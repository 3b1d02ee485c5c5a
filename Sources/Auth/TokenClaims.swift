import Foundation
import JWTKit

/// A JSON value of a token's payload, kept as it came, so that the subject and group claims can be any the
/// identity provider uses (`sub`, `preferred_username`, `realm_access.roles`, …).
enum ClaimValue: Codable, Sendable, Equatable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case array([ClaimValue])
    case object([String: ClaimValue])
    case null

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([ClaimValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: ClaimValue].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        case .null: try container.encodeNil()
        }
    }

    /// A string, or each string of an array of strings.
    var strings: [String] {
        switch self {
        case .string(let value): [value]
        case .array(let values): values.compactMap { if case .string(let value) = $0 { value } else { nil } }
        default: []
        }
    }
}

/// The payload of a bearer token, every claim as it came. jwt-kit checks the signature; ``TokenValidation``
/// checks the claims, because only it knows the time, the issuer and the audience.
struct TokenClaims: JWTPayload, Equatable {
    var claims: [String: ClaimValue]

    init(_ claims: [String: ClaimValue]) { self.claims = claims }

    init(from decoder: any Decoder) throws {
        claims = try decoder.singleValueContainer().decode([String: ClaimValue].self)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(claims)
    }

    func verify(using algorithm: some JWTAlgorithm) async throws {}

    /// The value at a dotted path (`realm_access.roles`), or `nil`.
    func value(at path: String) -> ClaimValue? {
        if let value = claims[path] { return value }
        var current: ClaimValue? = .object(claims)
        for name in path.split(separator: ".") {
            guard case .object(let object)? = current else { return nil }
            current = object[String(name)]
        }
        return current
    }
}

/// What a bearer token's claims must say to be accepted. Pure: the time is passed in.
public struct TokenValidation: Sendable, Equatable {
    /// The `iss` the tokens must carry, exactly.
    public var issuer: String
    /// Tokens must name at least one of these in `aud`.
    public var audiences: [String]
    /// The `alg` header values accepted (never `none` or an HMAC: the keys are public).
    public var algorithms: Set<String>
    /// The claim whose value becomes the subject (owner of tasks); a dotted path reaches into objects.
    public var subjectClaim: String
    /// The claim that lists the caller's groups (for admin groups); a dotted path reaches into objects.
    public var groupsClaim: String
    /// Clock skew allowed for `exp` and `nbf`, in seconds.
    public var leewaySeconds: Double

    public static let supportedAlgorithms: Set<String> = [
        "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
    ]

    public init(
        issuer: String,
        audiences: [String],
        algorithms: Set<String> = ["RS256", "ES256"],
        subjectClaim: String = "sub",
        groupsClaim: String = "groups",
        leewaySeconds: Double = 60
    ) {
        self.issuer = issuer
        self.audiences = audiences
        self.algorithms = algorithms.intersection(Self.supportedAlgorithms)
        self.subjectClaim = subjectClaim
        self.groupsClaim = groupsClaim
        self.leewaySeconds = leewaySeconds
    }

    /// The principal the claims name, if they hold at `now`.
    func principal(from token: TokenClaims, at now: Date) throws(AuthenticationError) -> Principal {
        let time = now.timeIntervalSince1970
        guard case .number(let expiry)? = token.claims["exp"] else {
            throw AuthenticationError(.invalid, "the token has no expiry (exp)")
        }
        guard time <= expiry + leewaySeconds else { throw AuthenticationError(.invalid, "the token has expired") }
        if let notBefore = token.claims["nbf"] {
            guard case .number(let start) = notBefore else { throw AuthenticationError(.invalid, "the token's nbf is not a time") }
            guard time + leewaySeconds >= start else { throw AuthenticationError(.invalid, "the token is not valid yet (nbf)") }
        }
        guard case .string(let tokenIssuer)? = token.claims["iss"], tokenIssuer == issuer else {
            throw AuthenticationError(.invalid, "the token was not issued by \(issuer)")
        }
        let tokenAudiences = token.claims["aud"]?.strings ?? []
        guard tokenAudiences.contains(where: audiences.contains) else {
            throw AuthenticationError(.invalid, "the token is not meant for this service (aud)")
        }
        guard case .string(let subject)? = token.value(at: subjectClaim), !subject.isEmpty else {
            throw AuthenticationError(.invalid, "the token has no '\(subjectClaim)' claim")
        }
        return Principal(subject: subject, groups: token.value(at: groupsClaim)?.strings ?? [])
    }
}
