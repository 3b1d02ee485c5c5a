import Auth
import Hummingbird
import HummingbirdAuth

/// The request context of the API: Hummingbird's basic context and the caller, once authenticated.
public typealias TESRequestContext = BasicAuthRequestContext<Principal>

/// How callers of the task endpoints prove who they are.
public enum RequestAuthentication: Sendable {
    /// Nobody is asked: every caller is anonymous and may see every task (local development).
    case none
    /// HTTP Basic, against users with bcrypt hashes.
    case basic(PasswordAuthenticator, realm: String)
    /// OIDC bearer tokens (JWTs).
    case bearer(TokenAuthenticator, realm: String)

    /// The `WWW-Authenticate` value of a 401, with RFC 6750's error fields for a refused bearer token.
    func challenge(for error: AuthenticationError) -> String? {
        switch self {
        case .none:
            return nil
        case .basic(_, let realm):
            return #"Basic realm="\#(realm)", charset="UTF-8""#
        case .bearer(_, let realm):
            guard error.code == .invalid else { return #"Bearer realm="\#(realm)""# }
            // A header value: no quotes, no control characters (a reason may echo a token's header), short.
            let description = String(
                String.UnicodeScalarView(error.reason.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F && $0 != "\"" }).prefix(200)
            )
            return #"Bearer realm="\#(realm)", error="invalid_token", error_description="\#(description)""#
        }
    }
}

/// Sets the caller of every request to the routes behind it, or answers 401 (503 when the identity provider cannot
/// be reached). Credentials are never logged; the subject is, on every line about the request.
struct AuthenticationMiddleware<Context: AuthRequestContext>: RouterMiddleware where Context.Identity == Principal {
    let authentication: RequestAuthentication

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        do {
            switch authentication {
            case .none:
                return try await next(request, context)
            case .basic(let authenticator, _):
                guard let credentials = request.headers.basic else {
                    throw AuthenticationError(.missing, "this server needs HTTP Basic credentials")
                }
                context.identity = try await authenticator.authenticate(username: credentials.username, password: credentials.password)
            case .bearer(let authenticator, _):
                guard let credentials = request.headers.bearer else {
                    throw AuthenticationError(.missing, "this server needs a bearer token")
                }
                context.identity = try await authenticator.authenticate(token: credentials.token)
            }
        } catch let error as AuthenticationError {
            if error.code == .throttled {
                context.logger.info("Authentication throttled", metadata: ["reason": "\(error.reason)"])
                throw APIError(.tooManyRequests, "authentication: \(error.reason)", headers: [.retryAfter: "1"])
            }
            if error.code == .unavailable {
                context.logger.warning("Authentication unavailable", metadata: ["reason": "\(error.reason)"])
                throw APIError(.serviceUnavailable, "authentication is unavailable; try again shortly")
            }
            context.logger.info("Authentication refused", metadata: ["reason": "\(error.reason)"])
            var headers = HTTPFields()
            headers[.wwwAuthenticate] = authentication.challenge(for: error)
            throw APIError(.unauthorized, "authentication required: \(error.reason)", headers: headers)
        }
        context.logger[metadataKey: "tes.user"] = "\(context.identity?.subject ?? "")"
        return try await next(request, context)
    }
}
