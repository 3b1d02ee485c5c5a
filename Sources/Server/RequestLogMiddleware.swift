import Hummingbird
import Logging
import TES

/// Logs each request (method and target) at `level`, as Hummingbird's `LogRequestsMiddleware` does, but with the
/// values of credential query parameters redacted: a served input's `signature`, a client's `access_token`.
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let level: Logger.Level

    init(_ level: Logger.Level) { self.level = level }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        context.logger.log(
            level: level,
            "Request",
            metadata: ["hb.request.path": .string(Self.target(path: request.uri.path, query: request.uri.query)), "hb.request.method": .string(request.method.rawValue)]
        )
        return try await next(request, context)
    }

    /// The request target as logged.
    static func target(path: String, query: String?) -> String {
        guard let query, !query.isEmpty else { return path }
        return path + "?" + StorageURL.redactingQuery(query)
    }
}
