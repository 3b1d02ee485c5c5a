import Logging
import Pulsar

// What the REST and the queue backend share about calling Pulsar: its errors in the engine's terms, calls under the
// retry policy, and what a Pulsar status says of a job.

/// `body`, with a ``PulsarError`` turned into the ``BackendError`` the engine acts on
/// (``PulsarRESTBackend/backendError(_:retryServerErrors:)``).
func inBackendTerms<T: Sendable>(retryServerErrors: Bool = true, _ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as PulsarError {
        throw PulsarRESTBackend.backendError(error, retryServerErrors: retryServerErrors)
    }
}

extension RetryPolicy {
    /// A Pulsar call under the policy. - Throws: ``TaskFailure`` naming `what`.
    func runPulsar<T: Sendable>(
        _ what: String,
        retryServerErrors: Bool = true,
        clock: any EngineClock,
        logger: Logger,
        _ body: () async throws -> T
    ) async throws -> T {
        try await run(what, clock: clock, logger: logger) {
            try await inBackendTerms(retryServerErrors: retryServerErrors, body)
        }
    }
}

extension PulsarJobStatus {
    /// Where the job is by this status alone. Pulsar's `running` is ``BackendJobState/running``: the job script
    /// runs, and its first step is the first executor (inputs are staged before it starts); the REST backend also
    /// checks that its heartbeat goes on.
    func backendState(on name: String) -> BackendJobState {
        if isFinished {
            return state == .lost ? .lost("Pulsar '\(name)' lost the job") : .finished
        }
        switch state {
        case .preprocessing, .queued:
            return .queued
        case .running:
            return .running
        case .postprocessing:
            // The script has ended (so its heartbeat has stopped) and Pulsar is about to say how: not dead.
            return .running
        case .lost:
            return .lost("Pulsar '\(name)' lost the job")
        case .complete, .cancelled, .failed, .other:
            return .queued
        }
    }
}
