import Hummingbird

/// The OpenAPI document and a Swagger UI page that loads it.
///
/// Swagger UI's files are served from this server only (`server.swagger_ui_dir`), never from a CDN: a script from
/// elsewhere would run with the page's access to the API. The page's Content-Security-Policy allows only this
/// origin. Without the files, `/ui` says how to install them.
struct DocsController<Context: RequestContext> {
    /// Swagger UI's dist directory; empty: `/ui` explains how to get it.
    let swaggerUIDir: String

    static var localAssetsPath: String { "/ui/assets" }
    /// Scripts and styles from this origin only; the one inline script starts Swagger UI.
    static var contentSecurityPolicy: String {
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            + "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    }

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
        let html: String
        if swaggerUIDir.isEmpty {
            html = """
                <!doctype html>
                <html lang="en">
                <head><meta charset="utf-8"><title>TESP: Task Execution Service API</title></head>
                <body>
                  <p>Swagger UI is not installed on this server. The API is described in
                  <a href="/ga4gh/tes/v1/openapi.yaml">/ga4gh/tes/v1/openapi.yaml</a>.</p>
                  <p>Operators: <code>pip install swagger-ui-bundle</code> and set <code>server.swagger_ui_dir</code>
                  to its <code>swagger_ui_path</code>.</p>
                </body>
                </html>
                """
        } else {
            let base = Self.localAssetsPath
            html = """
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
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        headers[.xContentTypeOptions] = "nosniff"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}
