import Hummingbird

/// The OpenAPI document and a Swagger UI page that loads it.
struct DocsController<Context: RequestContext> {
    /// Swagger UI's dist directory; empty to load Swagger UI from the public CDN.
    let swaggerUIDir: String

    static var cdnBase: String { "https://unpkg.com/swagger-ui-dist@5" }
    static var localAssetsPath: String { "/ui/assets" }

    func addRoutes(to router: Router<Context>, apiPrefixes: [String]) {
        for prefix in apiPrefixes {
            router.get("\(prefix)/openapi.yaml", use: openAPI)
        }
        router.get("/", use: redirectToUI)
        router.get("/ui", use: page)
        if !swaggerUIDir.isEmpty {
            router.addMiddleware { FileMiddleware(swaggerUIDir, urlBasePath: Self.localAssetsPath) }
        }
    }

    @Sendable func openAPI(_ request: Request, context: Context) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/yaml; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
    }

    @Sendable func redirectToUI(_ request: Request, context: Context) -> Response {
        .redirect(to: "/ui", type: .found)
    }

    @Sendable func page(_ request: Request, context: Context) -> Response {
        let base = swaggerUIDir.isEmpty ? Self.cdnBase : Self.localAssetsPath
        let html = """
            <!doctype html>
            <html lang="en">
            <head>
              <meta charset="utf-8">
              <title>TESP: Task Execution Service API</title>
              <link rel="stylesheet" href="\(base)/swagger-ui.css">
            </head>
            <body>
              <div id="swagger-ui"></div>
              <script src="\(base)/swagger-ui-bundle.js"></script>
              <script>
                window.ui = SwaggerUIBundle({ url: "/ga4gh/tes/v1/openapi.yaml", dom_id: "#swagger-ui" });
              </script>
            </body>
            </html>
            """
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}
