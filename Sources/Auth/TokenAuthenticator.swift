import Foundation
import JWTKit
import Logging

/// Checks OIDC bearer tokens (JWTs): the signature with the issuer's published keys, then the claims.
///
/// Keys are fetched on first use, again after `refreshInterval`, and again when a token names a key id not seen
/// yet (an issuer rotating its keys), but not more often than `minRefreshInterval`, so that tokens with made-up
/// key ids cannot make TESP hammer the identity provider.
public actor TokenAuthenticator {
    private let validation: TokenValidation
    private let source: any JWKSSource
    private let refreshInterval: Duration
    private let minRefreshInterval: Duration
    private let now: @Sendable () -> Date
    /// The time the refresh intervals are measured in (a clock the tests move by hand).
    private let instantNow: @Sendable () -> ContinuousClock.Instant
    private let logger: Logger

    private var keys = JWTKeyCollection()
    private var keyIDs: Set<String> = []
    private var fetchedAt: ContinuousClock.Instant?
    private var attemptedAt: ContinuousClock.Instant?
    private var fetching: Task<Void, any Error>?

    public init(
        validation: TokenValidation,
        keys source: any JWKSSource,
        refreshInterval: Duration = .seconds(3600),
        minRefreshInterval: Duration = .seconds(10),
        now: @escaping @Sendable () -> Date = Date.init,
        instantNow: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now },
        logger: Logger
    ) {
        self.instantNow = instantNow
        self.validation = validation
        self.source = source
        self.refreshInterval = refreshInterval
        self.minRefreshInterval = minRefreshInterval
        self.now = now
        self.logger = logger
    }

    public func authenticate(token: String) async throws(AuthenticationError) -> Principal {
        let header = try JWTHeaderFields(token: token)
        guard validation.algorithms.contains(header.alg) else {
            throw AuthenticationError(.invalid, "tokens signed with '\(header.alg)' are not accepted")
        }
        try await loadKeys(ifStale: true)
        if let kid = header.kid, !keyIDs.contains(kid) {
            try await loadKeys(ifStale: false)
            guard keyIDs.contains(kid) else { throw AuthenticationError(.invalid, "the token's key id is not one of the issuer's") }
        }
        let claims: TokenClaims
        do {
            claims = try await keys.verify(token, as: TokenClaims.self, iteratingKeys: header.kid == nil)
        } catch let error as JWTError where error.errorType == .signatureVerificationFailed {
            throw AuthenticationError(.invalid, "the token's signature is not valid")
        } catch {
            throw AuthenticationError(.invalid, "the token could not be verified")
        }
        return try validation.principal(from: claims, at: now())
    }

    /// Fetches the key set if none is loaded, if it is older than `refreshInterval` (`ifStale`; in the background:
    /// the keys loaded serve meanwhile), or for an unknown key id if the last fetch is older than
    /// `minRefreshInterval`. Concurrent callers share one fetch; after a failed fetch the next waits
    /// `minRefreshInterval`, and keys already loaded stay in use.
    private func loadKeys(ifStale: Bool) async throws(AuthenticationError) {
        let instant = instantNow()
        if let fetchedAt, instant - fetchedAt < (ifStale ? refreshInterval : minRefreshInterval) { return }
        let mayFetch = attemptedAt.map { instant - $0 >= minRefreshInterval } ?? true
        if ifStale, fetchedAt != nil {
            if fetching == nil, mayFetch { fetching = Task { try await self.replaceKeys() } }
            return
        }
        if fetching == nil {
            guard mayFetch else {
                if fetchedAt != nil { return }
                throw AuthenticationError(.unavailable, "the identity provider's keys could not be fetched")
            }
            fetching = Task { try await self.replaceKeys() }
        }
        do {
            try await fetching?.value
        } catch {
            if fetchedAt != nil { return }
            throw AuthenticationError(.unavailable, "the identity provider's keys could not be fetched")
        }
    }

    private func replaceKeys() async throws {
        attemptedAt = instantNow()
        defer { fetching = nil }
        /// A key set read key by key: one key of a type jwt-kit does not know does not hide the others.
        struct LenientKeySet: Decodable {
            struct Entry: Decodable {
                let jwk: JWK?
                init(from decoder: any Decoder) throws { jwk = try? JWK(from: decoder) }
            }
            let keys: [Entry]
        }
        let keySet: LenientKeySet
        do {
            keySet = try JSONDecoder().decode(LenientKeySet.self, from: try await source.fetchJWKS())
        } catch {
            logger.warning("Could not fetch the issuer's keys", metadata: ["error": "\(error)"])
            throw error
        }
        let collection = JWTKeyCollection()
        var ids: Set<String> = []
        for jwk in keySet.keys.compactMap(\.jwk) {
            guard let kid = jwk.keyIdentifier?.string else { continue }
            do {
                try await collection.add(jwk: jwk)
                ids.insert(kid)
            } catch {
                logger.debug("Skipping a key of the issuer's key set", metadata: ["kid": "\(kid)", "error": "\(error)"])
            }
        }
        keys = collection
        keyIDs = ids
        fetchedAt = instantNow()
        logger.info("Loaded the issuer's keys", metadata: ["keys": "\(ids.count)"])
    }
}
