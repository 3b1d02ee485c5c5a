import JobScript
import Logging
import Pulsar
import TES
import Transfer

/// How a finished Pulsar job ended, by the same rules whichever way TESP reached Pulsar: from its final status and
/// the records its job script left (downloaded over REST, or reported on stdout through a queue).
enum PulsarJobOutcome {
    /// - Parameters:
    ///   - records: `nil` when the job left none (it never started, or Pulsar could not give them).
    ///   - noRecords: the `system_logs` line for a job that ended without finishing its records.
    ///   - files: where staging reads and writes the job's files to publish its outputs.
    static func of(
        _ job: BackendJob,
        status: PulsarJobStatus,
        records: JobRecords?,
        on name: String,
        staging: any PulsarStaging,
        files: any PulsarJobFiles,
        noRecords: String,
        logger: Logger
    ) async throws -> JobOutcome {
        let executors = records?.executorLogs ?? []
        guard status.state == .complete, status.returnCode == 0 else {
            let code = status.returnCode.map(String.init) ?? "none"
            let detail = Redaction.redact(String(status.jobStderr.suffix(2000)))
            if records == nil, status.state == .failed,
                let failure = await staging.explainFailedFetch(
                    job, on: name, detail: (status.stderr + status.jobStderr).trimmingCharacters(in: .whitespacesAndNewlines)
                )
            {
                return .systemError(failure, executors: [])
            }
            if PulsarRESTBackend.couldNotStart(status, records: records) {
                return .notStarted("Pulsar '\(name)' could not start the job script (exit code 126): \(detail)")
            }
            return .systemError(
                "the job script failed on Pulsar '\(name)' (state \(status.state), exit code \(code)): \(detail)",
                executors: executors
            )
        }
        guard let records, records.finished else {
            return .systemError(noRecords, executors: executors)
        }
        // Outputs are published only when every executor succeeded (see the README).
        if records.stoppedOnFailure { return .executorError(executors: executors) }
        do {
            return .complete(executors: executors, outputs: try await staging.stageOut(job, on: files, logger: logger))
        } catch let failure as TaskFailure {
            return .systemError(failure.description, executors: executors)
        }
    }

    /// A final status that is not the job's own end: TESP does not look further.
    static func unexpectedEnd(_ status: PulsarJobStatus, on name: String) -> JobOutcome? {
        switch status.state {
        case .lost: .systemError("Pulsar '\(name)' lost the job", executors: [])
        case .cancelled: .systemError("the job was cancelled on Pulsar '\(name)', not by this server", executors: [])
        default: nil
        }
    }
}
