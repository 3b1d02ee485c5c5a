import Foundation
import Hummingbird

/// `/healthz` (the process answers) and `/readyz` (the task store and every Pulsar server answer), for load
/// balancers and orchestrators. Neither says more than each dependency's name and whether it answered.
struct HealthController<Context: RequestContext> {
    let checks: [ReadinessCheck]

    func addRoutes(to router: Router<Context>) {
        router.get("/healthz") { _, _ in try jsonResponse(Health(status: "ok"), encoder: JSONEncoder()) }
        router.get("/readyz", use: ready)
    }

    private struct Health: Encodable {
        let status: String
        var checks: [String: String]?
    }

    @Sendable func ready(_ request: Request, context: Context) async throws -> Response {
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
        let report = Health(
            status: ready ? "ready" : "not ready",
            checks: Dictionary(results.map { ($0.0, $0.1 ? "ok" : "unavailable") }, uniquingKeysWith: { first, _ in first })
        )
        return try jsonResponse(report, status: ready ? .ok : .serviceUnavailable, encoder: JSONEncoder())
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

/// A readiness probe's failure with a reason (for the log; `/readyz` shows only "unavailable").
public struct ReadinessFailure: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
