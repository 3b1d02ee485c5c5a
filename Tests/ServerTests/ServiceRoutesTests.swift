import Foundation
import Hummingbird
import HummingbirdTesting
import Server
import Testing

@Suite struct ServiceRoutesTests {
    @Test func serviceInfoHasTheGA4GHAndTESFields() async throws {
        try await withApp { client in
            let response = try await client.get("/ga4gh/tes/v1/service-info")
            #expect(response.status == .ok)
            let json = response.json
            #expect(json["id"] as? String == "org.example.tesp")
            #expect(json["type"] as? [String: String] == ["group": "org.ga4gh", "artifact": "tes", "version": "1.1.0"])
            #expect((json["organization"] as? [String: String])?["name"] == "Example")
            #expect(json["storage"] as? [String] == ["ftp://ftp.example.org/"])
            #expect(json["tesResources_backend_parameters"] as? [String] == ["VmSize"])
            #expect(json["version"] as? String == "9.9.9")
            #expect(json["contactUrl"] == nil)  // absent optionals are omitted, not null
            #expect(!response.text.contains("null"))
        }
    }

    @Test func theOpenAPIDocumentAndSwaggerUIAreServed() async throws {
        try await withApp { client in
            let spec = try await client.get("/ga4gh/tes/v1/openapi.yaml")
            #expect(spec.status == .ok)
            #expect(spec.text.hasPrefix("openapi: 3.0.1"))
            for needle in ["/tasks/{id}:cancel", "ErrorResponse", "tesServiceInfo"] { #expect(spec.text.contains(needle)) }
            // Without Swagger UI's files the page says how to install them, and loads nothing from elsewhere.
            let page = try await client.get("/ui")
            #expect(page.status == .ok)
            #expect(page.text.contains("swagger_ui_dir") && page.text.contains("/ga4gh/tes/v1/openapi.yaml"))
            #expect(!page.text.contains("https://"))
            #expect(page.headers[.contentSecurityPolicy]?.hasPrefix("default-src 'self'") == true)
            #expect(try await client.get("/").status == .found)
        }
    }

    @Test func swaggerUIIsServedFromThisServerOnly() async throws {
        var configuration = testConfiguration
        configuration.swaggerUIDir = FileManager.default.temporaryDirectory.path
        try await withApp(configuration: configuration) { client in
            let page = try await client.get("/ui")
            #expect(page.text.contains("SwaggerUIBundle") && page.text.contains("/ui/assets/swagger-ui-bundle.js"))
            #expect(!page.text.contains("https://"))
        }
    }

    @Test func unknownRoutesGetTheJSONErrorShape() async throws {
        try await withApp { client in
            expectError(try await client.get("/ga4gh/tes/v2/tasks"), .notFound, mentioning: "no route")
        }
    }
}

@Suite struct HealthRoutesTests {
    @Test func readinessSaysWhichDependencyIsDown() async throws {
        struct Down: Error {}
        var configuration = testConfiguration
        configuration.readinessChecks = [
            ReadinessCheck(name: "mongodb") {},
            ReadinessCheck(name: "pulsar p1") { throw Down() },
        ]
        try await withApp(configuration: configuration) { client in
            #expect(try await client.get("/healthz").status == .ok)
            let ready = try await client.get("/readyz")
            #expect(ready.status == .serviceUnavailable)
            #expect(ready.json["status"] as? String == "not ready")
            #expect(ready.json["checks"] as? [String: String] == ["mongodb": "ok", "pulsar p1": "unavailable"])
        }
    }
}

@Suite struct MethodRoutesTests {
    @Test func anotherMethodOnAKnownPathIs405WithAllow() async throws {
        try await withApp { client in
            let trace = try await client.execute(uri: "/ga4gh/tes/v1/tasks", method: .delete) { $0 }
            expectError(trace, .methodNotAllowed, mentioning: "DELETE")
            #expect(trace.headers[.allow] == "GET, POST")
            let put = try await client.execute(uri: "/v1/tasks/abc:cancel", method: .get) { $0 }
            #expect(put.status == .methodNotAllowed && put.headers[.allow] == "POST")
            let patch = try await client.execute(uri: "/ga4gh/tes/v1/tasks/abc", method: .patch) { $0 }
            #expect(patch.status == .methodNotAllowed && patch.headers[.allow] == "GET")
            #expect(try await client.get("/ga4gh/tes/v1/tasks/a/b").status == .notFound)
        }
    }
}
