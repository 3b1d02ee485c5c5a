import CryptoExtras
import Foundation
import Synchronization
import JWTKit
import Logging
import Testing

@testable import Auth

/// Bearer tokens signed in the test with keys made in the test, checked against a key set the test serves.
@Suite struct TokenAuthenticatorTests {
    static let issuer = "https://login.example.org/realms/tes"
    static let validation = TokenValidation(
        issuer: issuer,
        audiences: ["tesp"],
        subjectClaim: "preferred_username",
        groupsClaim: "realm_access.roles",
        leewaySeconds: 30
    )
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func anRS256TokenNamesItsSubjectAndGroups() async throws {
        let issuer = try await TestIssuer()
        let token = try await issuer.sign(claims(extra: ["realm_access": .object(["roles": .array([.string("tes-admins")])])]))
        let principal = try await authenticator(issuer).authenticate(token: token)
        #expect(principal == Principal(subject: "alice", groups: ["tes-admins"]))
    }

    @Test func anES256TokenIsAccepted() async throws {
        let issuer = try await TestIssuer()
        let token = try await issuer.sign(claims(), kid: "ec-1")
        #expect(try await authenticator(issuer).authenticate(token: token).subject == "alice")
    }

    @Test func expiredNotYetValidWrongIssuerAndWrongAudienceAreRefused() async throws {
        let issuer = try await TestIssuer()
        let cases: [(String, [String: ClaimValue])] = [
            ("the token has expired", claims(expiringIn: -31)),
            ("the token is not valid yet (nbf)", claims(extra: ["nbf": .number(now.timeIntervalSince1970 + 31)])),
            ("the token was not issued by \(Self.issuer)", claims(extra: ["iss": .string("https://evil.example.org")])),
            ("the token is not meant for this service (aud)", claims(extra: ["aud": .array([.string("other"), .string("x")])])),
            ("the token has no expiry (exp)", claims(extra: ["exp": .null])),
            ("the token has no 'preferred_username' claim", claims(extra: ["preferred_username": .number(7)])),
        ]
        let authenticator = authenticator(issuer)
        for (reason, payload) in cases {
            let token = try await issuer.sign(payload)
            await #expect(throws: AuthenticationError(.invalid, reason)) { try await authenticator.authenticate(token: token) }
        }
        // Within the leeway, an expired token still passes (clock skew between hosts).
        _ = try await authenticator.authenticate(token: try await issuer.sign(claims(expiringIn: -29)))
    }

    @Test func aTokenSignedWithAnotherKeyUnderAKnownKeyIDIsRefused() async throws {
        let issuer = try await TestIssuer()
        let impostor = try await TestIssuer()
        let token = try await impostor.sign(claims())  // kid "rsa-1", which the real issuer also uses
        await #expect(throws: AuthenticationError(.invalid, "the token's signature is not valid")) {
            try await authenticator(issuer).authenticate(token: token)
        }
    }

    @Test func unsignedAndHMACTokensAreRefusedBeforeAnyKeyIsTried() async throws {
        let issuer = try await TestIssuer()
        let body = try JSONEncoder().encode(TokenClaims(claims()))
        let unsigned = "\(base64URL(#"{"alg":"none","kid":"rsa-1"}"#.utf8)).\(base64URL(body))."
        let authenticator = authenticator(issuer)
        await #expect(throws: AuthenticationError(.invalid, "tokens signed with 'none' are not accepted")) {
            try await authenticator.authenticate(token: unsigned)
        }
        let hmac = JWTKeyCollection()
        await hmac.add(hmac: HMACKey(from: "the issuer public key, used as an HMAC secret"), digestAlgorithm: .sha256, kid: "rsa-1")
        let hmacToken = try await hmac.sign(TokenClaims(claims()), kid: "rsa-1")
        await #expect(throws: AuthenticationError(.invalid, "tokens signed with 'HS256' are not accepted")) {
            try await authenticator.authenticate(token: hmacToken)
        }
        for garbage in ["", "abc", "a.b.c", "Zm9v.Zm9v"] {
            await #expect(throws: AuthenticationError(.invalid, "the bearer token is not a JWT")) {
                try await authenticator.authenticate(token: garbage)
            }
        }
        #expect(await issuer.fetches == 0)
    }

    @Test func anUnknownKeyIDFetchesTheKeysAgainButNotMoreOftenThanAllowed() async throws {
        let issuer = try await TestIssuer()
        // One second between fetches for unknown key ids, on a clock the test moves (a loaded machine takes as long
        // as it takes: only the test's own steps count).
        let clock = ManualInstant()
        let authenticator = authenticator(issuer, minRefresh: .seconds(1), instantNow: clock.now)
        _ = try await authenticator.authenticate(token: try await issuer.sign(claims()))
        #expect(await issuer.fetches == 1)

        // The issuer rotates: a new key appears in its set; the first token with its kid makes TESP fetch again
        // (once the minimum interval since the last fetch has passed).
        try await issuer.rotate()
        try await issuer.addUnpublishedKey()
        let rotated = try await issuer.sign(claims(), kid: "rsa-2")
        let madeUp = try await issuer.sign(claims(), kid: "unpublished")
        clock.advance(by: .milliseconds(1100))
        #expect(try await authenticator.authenticate(token: rotated).subject == "alice")
        #expect(await issuer.fetches == 2)

        // Made-up key ids do not make TESP fetch on every request.
        for _ in 0..<5 {
            await #expect(throws: AuthenticationError(.invalid, "the token's key id is not one of the issuer's")) {
                try await authenticator.authenticate(token: madeUp)
            }
        }
        #expect(await issuer.fetches == 2)
        clock.advance(by: .milliseconds(900))
        await #expect(throws: AuthenticationError.self) { try await authenticator.authenticate(token: madeUp) }
        #expect(await issuer.fetches == 2)  // not yet: 0.9 s since the last fetch
        clock.advance(by: .milliseconds(200))  // then one more fetch is allowed
        await #expect(throws: AuthenticationError.self) { try await authenticator.authenticate(token: madeUp) }
        #expect(await issuer.fetches == 3)
    }

    @Test func keysAreRefreshedPeriodicallyWithoutHoldingUpRequests() async throws {
        let issuer = try await TestIssuer()
        let authenticator = authenticator(issuer, refresh: .milliseconds(200), minRefresh: .milliseconds(100))
        let token = try await issuer.sign(claims())
        _ = try await authenticator.authenticate(token: token)
        try await Task.sleep(for: .milliseconds(250))
        // Stale keys still answer while the issuer takes 30 s to answer; the refresh runs behind the request (a
        // request that waited for it would take the 30 s: the bound is far from both, so a loaded machine passes).
        await issuer.setDelay(.seconds(30))
        let clock = ContinuousClock()
        let elapsed = try await clock.measure { _ = try await authenticator.authenticate(token: token) }
        #expect(elapsed < .seconds(15))
        for _ in 0..<300 where await issuer.fetches < 2 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(await issuer.fetches == 2)
        #expect(try await authenticator.authenticate(token: token).subject == "alice")
    }

    @Test func anUnreachableIssuerIsUnavailableNotInvalid() async throws {
        let issuer = try await TestIssuer()
        await issuer.setReachable(false)
        let token = try await issuer.sign(claims())
        await #expect(throws: AuthenticationError(.unavailable, "the identity provider's keys could not be fetched")) {
            try await authenticator(issuer).authenticate(token: token)
        }
    }

    // MARK: - Helpers

    func authenticator(
        _ source: some JWKSSource,
        refresh: Duration = .seconds(3600),
        minRefresh: Duration = .seconds(10),
        instantNow: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }
    ) -> TokenAuthenticator {
        TokenAuthenticator(
            validation: Self.validation,
            keys: source,
            refreshInterval: refresh,
            minRefreshInterval: minRefresh,
            now: { [now] in now },
            instantNow: instantNow,
            logger: Logger(label: "test")
        )
    }

    func claims(expiringIn seconds: Double = 300, extra: [String: ClaimValue] = [:]) -> [String: ClaimValue] {
        var claims: [String: ClaimValue] = [
            "iss": .string(Self.issuer),
            "aud": .string("tesp"),
            "sub": .string("f2a9c-uuid"),
            "preferred_username": .string("alice"),
            "exp": .number(now.timeIntervalSince1970 + seconds),
            "iat": .number(now.timeIntervalSince1970 - 10),
        ]
        for (key, value) in extra {
            if value == .null { claims[key] = nil } else { claims[key] = value }
        }
        return claims
    }
}

func base64URL(_ bytes: some Sequence<UInt8>) -> String {
    Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
}

/// An identity provider in the test: private keys that sign, and the public key set TESP fetches.
actor TestIssuer: JWKSSource {
    private var published: [[String: String]] = []
    private let signers = JWTKeyCollection()
    private(set) var fetches = 0
    private var reachable = true
    private var delay = Duration.zero

    init() async throws {
        try await addRSAKey(kid: "rsa-1")
        let ec = ES256PrivateKey()
        await signers.add(ecdsa: ec, kid: "ec-1")
        let parameters = try #require(ec.parameters)
        published.append(["kty": "EC", "crv": "P-256", "kid": "ec-1", "use": "sig", "x": parameters.x, "y": parameters.y])
    }

    /// Publishes a new key, as an issuer rotating its keys does.
    func rotate() async throws { try await addRSAKey(kid: "rsa-2") }

    /// A key that signs but is in no key set: its tokens name a key id the issuer never published.
    func addUnpublishedKey() async throws { try await addRSAKey(kid: "unpublished", publish: false) }

    func setReachable(_ value: Bool) { reachable = value }

    func setDelay(_ value: Duration) { delay = value }

    private func addRSAKey(kid: String, publish: Bool = true) async throws {
        let key = try Insecure.RSA.PrivateKey(backing: _RSA.Signing.PrivateKey(keySize: .bits2048))
        await signers.add(rsa: key, digestAlgorithm: .sha256, kid: JWKIdentifier(string: kid))
        guard publish else { return }
        let primitives = try key.publicKey.getKeyPrimitives()
        published.append([
            "kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
            "n": base64URL(primitives.modulus), "e": base64URL(primitives.publicExponent),
        ])
    }

    /// A token over `claims`, signed with key `kid` (named in its header).
    func sign(_ claims: [String: ClaimValue], kid: String = "rsa-1") async throws -> String {
        try await signers.sign(TokenClaims(claims), kid: JWKIdentifier(string: kid))
    }

    func fetchJWKS() async throws -> Data {
        fetches += 1
        if delay > .zero { try await Task.sleep(for: delay) }
        guard reachable else { throw URLError(.cannotConnectToHost) }
        return try JSONSerialization.data(withJSONObject: ["keys": published])
    }
}

/// A monotonic instant the test moves by hand.
final class ManualInstant: Sendable {
    private let current = Mutex(ContinuousClock.now)

    @Sendable func now() -> ContinuousClock.Instant { current.withLock { $0 } }

    func advance(by duration: Duration) { current.withLock { $0 += duration } }
}
