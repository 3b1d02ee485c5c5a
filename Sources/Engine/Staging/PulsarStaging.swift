import Logging
import JobScript
import Pulsar
import TES

/// How a Pulsar job gets its input files and how its outputs reach their URLs. Chosen per backend: through this
/// server (``ThroughTESPStaging``), or by Pulsar itself near the data.
public protocol PulsarStaging: Sendable {
    /// Puts every input into the job. - Returns: where the job script must place each file it was given.
    /// - Throws: ``TaskFailure`` naming the input.
    func stageIn(_ job: BackendJob, on pulsar: any PulsarJobFiles, logger: Logger) async throws -> [JobScript.PlacedInput]

    /// Publishes every output the job made (called only when all executors succeeded).
    /// - Returns: one log per file published. - Throws: ``TaskFailure`` naming the output.
    func stageOut(_ job: BackendJob, on pulsar: any PulsarJobFiles, logger: Logger) async throws -> [TESOutputFileLog]

    /// The inputs Pulsar fetches itself when the job is submitted, each with the index of its TES input. Derived
    /// from the task alone, so that a submit after a restart asks for the same files.
    func remoteInputs(of job: BackendJob) -> [(index: Int, input: PulsarRemoteInput)]

    /// The FILE outputs the job script sends from the Pulsar host itself, by output index, with the URL each goes
    /// to; the rest (and any the script could not send) TESP publishes.
    func sentOutputs(of job: BackendJob) -> [Int: JobScript.SentOutput]

    /// The `system_logs` line for a job whose inputs Pulsar failed to fetch, naming the input; `nil` when Pulsar
    /// was to fetch none. `detail` is what Pulsar said (0.16 says nothing through its API: the error goes to its log).
    func explainFailedFetch(_ job: BackendJob, on pulsar: String, detail: String) async -> String?
}

extension PulsarStaging {
    func remoteInputs(of job: BackendJob) -> [(index: Int, input: PulsarRemoteInput)] { [] }
    func sentOutputs(of job: BackendJob) -> [Int: JobScript.SentOutput] { [:] }
    func explainFailedFetch(_ job: BackendJob, on pulsar: String, detail: String) async -> String? { nil }
}

/// Staging through TESP: inputs are fetched to this server's disk and streamed up to Pulsar; outputs are streamed
/// down from Pulsar and up to their URLs.
struct ThroughTESPStaging: PulsarStaging {
    let inputs: InputStager
    let outputs: OutputPublisher

    func stageIn(_ job: BackendJob, on pulsar: any PulsarJobFiles, logger: Logger) async throws -> [JobScript.PlacedInput] {
        try await inputs.stage(job.task, secrets: job.secrets, owner: job.owner, backend: pulsar, jobID: job.jobID, logger: logger)
    }

    func stageOut(_ job: BackendJob, on pulsar: any PulsarJobFiles, logger: Logger) async throws -> [TESOutputFileLog] {
        try await outputs.publish(job.task, secrets: job.secrets, owner: job.owner, backend: pulsar, jobID: job.jobID, logger: logger)
    }

    /// The same, with outputs sent from Pulsar to their URLs in one streamed hop, never on this server's disk.
    func streamingOutputs() -> ThroughTESPStaging {
        var outputs = outputs
        outputs.streamed = true
        return ThroughTESPStaging(inputs: inputs, outputs: outputs)
    }
}
