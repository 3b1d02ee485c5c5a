import Logging
import JobScript
import Pulsar
import TES
import Transfer

/// Staging by Pulsar where it can: a FILE input at a plain `http`/`https` URL is fetched by Pulsar itself before
/// the job starts (`remote_transfer`), so its bytes go from their source to the Pulsar host without passing
/// through TESP. Everything else goes through TESP as with ``ThroughTESPStaging``: content inputs (they travel
/// with the job), DIRECTORY inputs (TESP lists them), other schemes (Pulsar 0.16 without pycurl reads http(s)
/// only), and any URL that needs a secret: a password, a token in its query, or credentials TESP holds for its
/// server, because those never leave TESP for a backend. Outputs come back through TESP.
///
/// TESP's `transfer.denied_networks` protect TESP's own network; a URL Pulsar fetches is checked against them by
/// address only when its host is an IP literal (a name resolves on the Pulsar host, under that host's rules).
struct PulsarSideStaging: PulsarStaging {
    let throughTESP: ThroughTESPStaging
    let transfers: Transfers

    func stageIn(_ job: BackendJob, on pulsar: any PulsarJobs, logger: Logger) async throws -> [JobScript.PlacedInput] {
        let remote = remoteInputs(of: job)
        let tasksInputs = job.task.inputs ?? []
        var placed = try await throughTESP.inputs.stage(
            job.task,
            secrets: job.secrets,
            owner: job.owner,
            backend: pulsar,
            jobID: job.jobID,
            skipping: Set(remote.map(\.index)),
            logger: logger
        )
        for (index, input) in remote {
            if let path = tasksInputs[index].path { placed.append(.init(uploadedName: input.name, path: path)) }
        }
        if !remote.isEmpty { logger.info("Inputs left for Pulsar to fetch", metadata: ["count": "\(remote.count)"]) }
        return placed
    }

    func stageOut(_ job: BackendJob, on pulsar: any PulsarJobs, logger: Logger) async throws -> [TESOutputFileLog] {
        try await throughTESP.stageOut(job, on: pulsar, logger: logger)
    }

    func remoteInputs(of job: BackendJob) -> [(index: Int, input: PulsarRemoteInput)] {
        (job.task.inputs ?? []).enumerated().compactMap { index, input in
            guard input.content?.isEmpty ?? true, input.type != .directory, let text = input.url, let url = StorageURL(text),
                canFetch(url, secrets: job.secrets)
            else { return nil }
            return (index, PulsarRemoteInput(name: "input-\(index)", url: url.text))
        }
    }

    func explainFailedFetch(_ job: BackendJob, on pulsar: String, detail: String) async -> String? {
        let remote = remoteInputs(of: job)
        guard !remote.isEmpty else { return nil }
        let said = detail.isEmpty ? "" : ": \(Redaction.redact(detail))"
        // Pulsar 0.16 writes the reason where its status API does not read it: ask the servers, as Pulsar did.
        for (index, input) in remote {
            guard let url = StorageURL(input.url) else { continue }
            if detail.contains(input.url) {
                return "inputs[\(index)]: Pulsar '\(pulsar)' could not fetch \(url)\(said)"
            }
            if let problem = await transfers.problem(reading: url, secret: nil) {
                return "inputs[\(index)]: Pulsar '\(pulsar)' could not fetch \(url) (checked from TESP: \(problem))"
            }
        }
        let fields = remote.map { "inputs[\($0.index)]" }.joined(separator: ", ")
        return "\(fields): Pulsar '\(pulsar)' could not fetch its inputs\(said.isEmpty ? " (Pulsar's log says why)" : said)"
    }

    /// Whether Pulsar may fetch `url` without being given anything secret.
    func canFetch(_ url: StorageURL, secrets: [String: String]) -> Bool {
        guard url.scheme == "http" || url.scheme == "https", url.user == nil, url.password == nil, !url.hasSecretQuery,
            secrets[TaskCredentials.key(for: url)] == nil, secrets[TaskCredentials.queryKey(for: url)] == nil,
            !transfers.holdsCredentials(for: url)
        else { return false }
        return !transfers.configuration.limits.deniedNetworks.deniesLiteral(url.host)
    }
}
