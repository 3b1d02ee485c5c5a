import Foundation

/// The header fields of a compact JWT that decide how it is checked, read before any key is trusted.
struct JWTHeaderFields: Decodable, Equatable {
    var alg: String
    var kid: String?

    /// - Throws: ``AuthenticationError`` `.invalid` if `token` is not three base64url parts with a JSON header.
    init(token: String) throws(AuthenticationError) {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let data = Self.base64URLDecoded(parts[0]),
            let header = try? JSONDecoder().decode(JWTHeaderFields.self, from: data)
        else {
            throw AuthenticationError(.invalid, "the bearer token is not a JWT")
        }
        self = header
    }

    static func base64URLDecoded(_ text: some StringProtocol) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }
}
