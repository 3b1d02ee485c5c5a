import Hummingbird
import NIOHTTP1
import TES
import TaskStore

/// Turns every error a route throws into an ``APIError``, so each failure has the same JSON shape.
///
/// Domain errors get their status here and nowhere else; anything unexpected is logged and becomes a 500
/// without details.
struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as TESValidationError {
            throw APIError(.badRequest, error.description)
        } catch let error as TaskStoreError where error.code == .notFound {
            throw APIError(.notFound, error.description)
        } catch let error as TaskStoreError where error.code == .unavailable {
            context.logger.warning("Task store unavailable", metadata: ["error": "\(error)"])
            throw APIError(.serviceUnavailable, "the task store is unavailable; try again shortly")
        } catch let error as any HTTPResponseError {
            if error.status == .notFound, let allowed = APIRoutes.allowedMethods(for: request.uri.path) {
                throw APIError(.methodNotAllowed, "\(request.method) is not allowed on \(request.uri.path)", allowedMethods: allowed)
            }
            throw APIError(error.status, Self.message(for: error, request: request))
        } catch let error as HTTPParserError {
            // The client went away in the middle of its request (or sent garbage): its problem, not a server error.
            context.logger.debug("Request aborted by the client", metadata: ["error": "\(error)"])
            throw APIError(.badRequest, "the request ended before it was complete")
        } catch {
            context.logger.error("Request failed", metadata: ["error.type": "\(type(of: error))", "error": "\(error)"])
            throw APIError(.internalServerError, "internal error")
        }
    }

    /// Hummingbird's own errors (no route, body too large, …) in words a client can act on.
    private static func message(for error: any HTTPResponseError, request: Request) -> String {
        switch error.status {
        case .notFound: "no route for \(request.method) \(request.uri.path)"
        case .contentTooLarge: "request body is larger than this server accepts"
        case .methodNotAllowed: "\(request.method) is not allowed on \(request.uri.path)"
        default: (error as? HTTPError)?.body ?? error.status.reasonPhrase
        }
    }
}
