import Logging

/// Asks every backend whether it answers, every `interval`, each check bounded by `timeout`, and keeps the result
/// in the registry: a backend that is down gets no new tasks, and `/readyz` reads the cached result instead of
/// probing every server on each request.
struct BackendHealthChecker: Sendable {
    let backends: BackendRegistry
    let interval: Duration
    let timeout: Duration
    let clock: any EngineClock
    let logger: Logger
    /// Called when a backend goes down or comes back.
    let onChange: @Sendable () -> Void

    func run() async {
        while !Task.isCancelled {
            await checkAll()
            do { try await clock.sleep(for: interval) } catch { return }
        }
    }

    func checkAll() async {
        await withTaskGroup(of: Void.self) { group in
            for entry in backends.entries {
                group.addTask { await check(entry.backend) }
            }
        }
    }

    private func check(_ backend: any ComputeBackend) async {
        let failure = await Self.failure(of: backend, timeout: timeout, clock: clock)
        let was = backends.unavailable[backend.name]
        backends.record(backend.name, failure: failure)
        if (was == nil) != (failure == nil) {
            if let failure {
                logger.warning("Backend down", metadata: ["tesp.backend": "\(backend.name)", "error": "\(failure)"])
            } else {
                logger.info("Backend up again", metadata: ["tesp.backend": "\(backend.name)"])
            }
            onChange()
        }
    }

    /// Why `backend` failed its check, or `nil` if it answered within `timeout`.
    static func failure(of backend: any ComputeBackend, timeout: Duration, clock: any EngineClock) async -> String? {
        await withTaskGroup(of: String??.self) { group in
            group.addTask {
                do {
                    _ = try await backend.health()
                    return .some(nil)
                } catch {
                    return .some("\(error)")
                }
            }
            group.addTask {
                guard (try? await clock.sleep(for: timeout)) != nil else { return nil }
                return .some("no answer within \(timeout)")
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? "the check was cancelled"
        }
    }
}
