import Logging

/// How a call that failed for a reason that may pass is retried: waits that double from `firstDelay` up to
/// `maxDelay`, until `grace` has passed since the first failure. One value, used by every step that calls out.
public struct RetryPolicy: Sendable {
    public var firstDelay: Duration
    public var maxDelay: Duration
    /// How long failures may go on before the caller gives up.
    public var grace: Duration

    public init(firstDelay: Duration = .milliseconds(200), maxDelay: Duration = .seconds(10), grace: Duration) {
        self.firstDelay = firstDelay
        self.maxDelay = maxDelay
        self.grace = grace
    }

    /// Runs `body` until it succeeds, fails for good, or has failed transiently for longer than `grace`.
    /// - Throws: ``TaskFailure`` naming `what` once the grace has passed or the failure is permanent;
    ///   `CancellationError` when the task is cancelled.
    func run<T: Sendable>(
        _ what: String,
        clock: any EngineClock,
        logger: Logger,
        _ body: () async throws -> T
    ) async throws -> T {
        let start = clock.now
        var delay = firstDelay
        while true {
            do {
                return try await body()
            } catch let error as BackendError where error.kind == .unavailable || error.kind == .busy {
                // Busy is TESP's own limit (a connection pool, say), never the task's fault: no grace for it.
                if error.kind == .unavailable, clock.now.since(start) > grace {
                    throw TaskFailure("\(what) failed for longer than \(grace): \(error)")
                }
                logger.warning("Call failed; will retry", metadata: ["operation": "\(what)", "error": "\(error)"])
                try await clock.sleep(for: delay)
                delay = min(delay * 2, maxDelay)
            } catch let error as BackendError {
                throw TaskFailure("\(what) failed: \(error)")
            }
        }
    }
}
