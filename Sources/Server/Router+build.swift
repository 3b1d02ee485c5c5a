import Auth
import Engine
import Hummingbird
import Logging
import TES
import TaskStore

/// The path prefixes the TES API is served under: the spec's, and the one CESNET's TESP API clients use.
public let tesAPIPrefixes = ["/ga4gh/tes/v1", "/v1"]

/// Builds the router of the whole HTTP API over `store`; `events` (the engine) hears of new and canceled tasks.
/// Tests call this with an in-memory store and no engine.
///
/// Only the task endpoints ask who the caller is; service-info, the API document, health and metrics are public.
public func buildRouter(
    store: some TaskStore,
    events: (any TaskEvents)? = nil,
    configuration: ServerConfiguration
) -> Router<TESRequestContext> {
    let router = Router(context: TESRequestContext.self)
    router.addMiddleware {
        RequestLogMiddleware(.debug)
        MetricsMiddleware()
        APIErrorMiddleware()
        CrossOriginMiddleware(allowedOrigins: configuration.corsAllowedOrigins)
    }
    let tasks = TaskController<TESRequestContext, _>(
        store: store,
        configuration: configuration,
        ids: TaskIDSource(),
        events: events,
        fullLists: AsyncLimiter(limit: configuration.maxConcurrentFullLists)
    )
    let authentication = AuthenticationMiddleware<TESRequestContext>(authentication: configuration.authentication)
    let encoder = TESJSON.makeEncoder()
    let serviceInfo = configuration.serviceInfo
    for prefix in tesAPIPrefixes {
        let group = router.group(RouterPath(prefix))
        tasks.addRoutes(to: group.group().add(middleware: authentication))
        group.get("service-info") { _, _ in try jsonResponse(serviceInfo, encoder: encoder) }
    }
    DocsController(swaggerUIDir: configuration.swaggerUIDir).addRoutes(to: router, apiPrefixes: tesAPIPrefixes)
    HealthController(checks: configuration.readinessChecks).addRoutes(to: router)
    if let (urls, transfers) = configuration.servedInputs {
        ServedInputController<TESRequestContext, _>(store: store, urls: urls, transfers: transfers).addRoutes(to: router)
    }
    if let metricsText = configuration.metricsText {
        router.get("/metrics") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: metricsText())))
        }
    }
    return router
}
