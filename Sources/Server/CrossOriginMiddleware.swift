import HTTPTypes
import Hummingbird

/// Keeps web pages of other origins from acting on a TESP a user can reach (cross-site request forgery), and lets
/// the origins an operator allows call the API from a browser (CORS).
///
/// A browser sends a cross-origin POST without asking first only when its body is form data or plain text, so
/// ``TaskController`` accepts `application/json` bodies only (415 otherwise), which forces a preflight. This
/// middleware then refuses state-changing requests that a browser marks as coming from another site (`Origin`
/// not this server's and not allowed, or `Sec-Fetch-Site: cross-site`), and answers preflights: allowed origins
/// get the CORS headers, others a 403. Clients that are not browsers (py-tes, curl, workflow engines) send
/// neither header and are not affected.
struct CrossOriginMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Origins (`https://app.example.org`) whose pages may call the API; `*` allows any.
    let allowedOrigins: Set<String>

    static var allowedMethods: String { "GET, POST, OPTIONS" }
    static var allowedHeaders: String { "Authorization, Content-Type" }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let origin = request.headers[.origin]
        let allowed = origin.map(isAllowed) ?? false
        if request.method == .options, let origin, request.headers[values: .accessControlRequestMethod].first != nil {
            guard allowed else {
                throw APIError(.forbidden, "cross-origin requests from \(origin.prefix(200)) are not allowed (server.cors_allowed_origins)")
            }
            var headers = corsHeaders(origin: origin)
            headers[.accessControlAllowMethods] = Self.allowedMethods
            headers[.accessControlAllowHeaders] = Self.allowedHeaders
            headers[.accessControlMaxAge] = "600"
            return Response(status: .noContent, headers: headers)
        }
        if request.method != .get, request.method != .head, request.method != .options {
            let crossSite = request.headers[.secFetchSite]?.lowercased() == "cross-site"
            let foreign = origin.map { !isSameOrigin($0, request: request) } ?? false
            if (crossSite || foreign) && !allowed {
                throw APIError(
                    .forbidden,
                    "\(request.method) from another site is refused (Origin \(origin?.prefix(200) ?? "none")); "
                        + "allow it with server.cors_allowed_origins"
                )
            }
        }
        var response = try await next(request, context)
        if let origin, allowed {
            for field in corsHeaders(origin: origin) { response.headers.append(field) }
        }
        return response
    }

    private func isAllowed(_ origin: String) -> Bool {
        allowedOrigins.contains("*") || allowedOrigins.contains(origin)
    }

    /// Whether `origin` (`scheme://host[:port]`) names the host the request was sent to. The scheme is not
    /// compared: behind a TLS-terminating proxy TESP cannot know it.
    private func isSameOrigin(_ origin: String, request: Request) -> Bool {
        guard let authority = request.head.authority,
            let separator = origin.range(of: "://")
        else { return false }
        return origin[separator.upperBound...].lowercased() == authority.lowercased()
    }

    private func corsHeaders(origin: String) -> HTTPFields {
        var headers = HTTPFields()
        headers[.accessControlAllowOrigin] = origin
        headers[.vary] = "Origin"
        return headers
    }
}

extension HTTPField.Name {
    /// Fetch metadata (W3C): where a browser says the request comes from (`same-origin`, `same-site`,
    /// `cross-site`, `none`).
    static var secFetchSite: Self { Self("Sec-Fetch-Site")! }
}
