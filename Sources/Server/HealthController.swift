import Hummingbird

/// `/healthz` (the process answers) and `/readyz` (the task store and every Pulsar server answer), for load
/// balancers and orchestrators. Neither says more than each dependency's name and whether it answered.
struct HealthController<Context: RequestContext> {
    let checks: [ReadinessCheck]

    func addRoutes(to router: Router<Context>) {
        router.get("/healthz") { _, _ in Self.json(.ok, #"{"status":"ok"}"#) }
        router.get("/readyz", use: ready)
    }

    @Sendable func ready(_ request: Request, context: Context) async -> Response {
        let results = await withTaskGroup(of: (String, Bool).self) { group in
            for check in checks {
                group.addTask {
                    do {
                        try await check.probe()
                        return (check.name, true)
                    } catch {
                        return (check.name, false)
                    }
                }
            }
            var results: [(String, Bool)] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }
        }
        for (name, ok) in results where !ok {
            context.logger.warning("Not ready", metadata: ["dependency": "\(name)"])
        }
        let ready = results.allSatisfy(\.1)
        let fields = results.map { "\"\(Self.escape($0.0))\":\"\($0.1 ? "ok" : "unavailable")\"" }.joined(separator: ",")
        return Self.json(ready ? .ok : .serviceUnavailable, "{\"status\":\"\(ready ? "ready" : "not ready")\",\"checks\":{\(fields)}}")
    }

    private static func json(_ status: HTTPResponse.Status, _ body: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }
}

/// One dependency `/readyz` asks: a name for the answer, and a probe that throws when the dependency is down.
public struct ReadinessCheck: Sendable {
    public let name: String
    public let probe: @Sendable () async throws -> Void

    public init(name: String, probe: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.probe = probe
    }
}
