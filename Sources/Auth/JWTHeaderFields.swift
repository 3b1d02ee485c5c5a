import ExtrasBase64
import Foundation

/// The header fields of a compact JWT that decide how it is checked, read before any key is trusted.
struct JWTHeaderFields: Decodable, Equatable {
    var alg: String
    var kid: String?

    /// - Throws: ``AuthenticationError`` `.invalid` if `token` is not three base64url parts with a JSON header.
    init(token: String) throws(AuthenticationError) {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
            let bytes = try? String(parts[0]).base64decoded(options: [.base64UrlAlphabet, .omitPaddingCharacter]),
            let header = try? JSONDecoder().decode(JWTHeaderFields.self, from: Data(bytes))
        else {
            throw AuthenticationError(.invalid, "the bearer token is not a JWT")
        }
        self = header
    }
}
