import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat

/// Where the public keys of an identity provider come from: the raw JSON of a JWK set.
public protocol JWKSSource: Sendable {
    func fetchJWKS() async throws -> Data
}

/// The JWK set of an OpenID Connect issuer, fetched over HTTP(S): from `jwksURL` when given, else from the
/// `jwks_uri` of the issuer's discovery document (`<issuer>/.well-known/openid-configuration`).
public struct OIDCKeySource: JWKSSource {
    public let issuer: String
    public let jwksURL: String?
    let http: HTTPClient
    let timeout: TimeAmount
    /// Key sets and discovery documents are small; anything bigger is not one.
    static let maxBytes = 1 << 20

    public init(issuer: String, jwksURL: String?, http: HTTPClient, timeout: TimeAmount = .seconds(10)) {
        self.issuer = issuer
        self.jwksURL = jwksURL
        self.http = http
        self.timeout = timeout
    }

    public func fetchJWKS() async throws -> Data {
        if let jwksURL { return try await get(jwksURL) }
        struct Discovery: Decodable {
            let issuer: String
            let jwks_uri: String
        }
        let base = issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer
        let discovery = try JSONDecoder().decode(Discovery.self, from: try await get(base + "/.well-known/openid-configuration"))
        // OpenID Connect Discovery 1.0, section 4.3: the document must name the issuer it was fetched for.
        guard discovery.issuer == issuer else {
            throw AuthenticationError(.unavailable, "the discovery document names issuer '\(discovery.issuer)', not '\(issuer)'")
        }
        return try await get(discovery.jwks_uri)
    }

    private func get(_ url: String) async throws -> Data {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/json")
        let response = try await http.execute(request, timeout: timeout)
        guard response.status == .ok else {
            throw AuthenticationError(.unavailable, "GET \(url) answered \(response.status.code)")
        }
        return Data(buffer: try await response.body.collect(upTo: Self.maxBytes))
    }
}
