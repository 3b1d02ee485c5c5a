import Foundation
import Logging
import NIOCore
import JobScript
import Pulsar
import TES
import Transfer

/// Staging on the Pulsar host where it can, so that a FILE input's bytes go from their source to the Pulsar host
/// without passing through TESP. Pulsar itself fetches (`remote_transfer`, before the job starts) a plain
/// `http`/`https` URL, or an `s3://` object through a URL TESP pre-signs (short-lived, one object, read only) when
/// the backend is `trusted`, or unsigned when TESP has no S3 keys (a public bucket). An `ftp`/`ftps` URL without a
/// password is fetched by the job script with curl (Pulsar 0.16 reads with `requests`, which has no FTP, unless
/// pycurl is installed). Everything else goes through TESP as with ``ThroughTESPStaging``: content inputs (they
/// travel with the job), DIRECTORY inputs (TESP lists them), and any URL that needs a secret TESP will not hand
/// over: a password, a token in its query, credentials TESP holds for its server, and pre-signed URLs for an
/// untrusted backend. A FILE output to such a URL (an S3 one pre-signed for a PUT, on a trusted backend) is sent
/// by the job script from the Pulsar host when every executor succeeded; the rest, and any the script could not
/// send, come back through TESP in one streamed hop, never on its disk (``OutputPublisher/streamed``).
///
/// With `server.public_url` set, a FILE input the Pulsar host may not read by itself (it needs a secret) is not
/// copied to TESP's disk either: Pulsar fetches it from TESP (``ServedInputURLs``), which streams it from its source.
///
/// TESP's `transfer.denied_networks` protect TESP's own network; a URL Pulsar fetches is checked against them by
/// address only when its host is an IP literal (a name resolves on the Pulsar host, under that host's rules).
struct PulsarSideStaging: PulsarStaging {
    let throughTESP: ThroughTESPStaging
    let transfers: Transfers
    /// Whether pre-signed URLs may be handed to this backend.
    let trusted: Bool
    /// Where Pulsar can fetch an input from TESP itself; `nil`: such inputs go through TESP's disk.
    var served: ServedInputURLs? = nil

    func stageIn(_ job: BackendJob, on pulsar: any PulsarJobFiles, logger: Logger) async throws -> [JobScript.PlacedInput] {
        let routes = routes(of: job)
        let tasksInputs = job.task.inputs ?? []
        var placed = try await throughTESP.inputs.stage(
            job.task,
            secrets: job.secrets,
            owner: job.owner,
            backend: pulsar,
            jobID: job.jobID,
            skipping: Set(routes.map(\.index)),
            logger: logger
        )
        var byPulsar = 0, byScript = 0, withLogin = 0
        for (index, route) in routes {
            guard let path = tasksInputs[index].path else { continue }
            switch route {
            case .pulsarFetches, .servedByTESP:
                byPulsar += 1
                placed.append(.init(uploadedName: Self.remoteName(index), path: path))
            case .scriptFetches(let url, nil):
                byScript += 1
                placed.append(.init(fetching: url, field: "inputs[\(index)]", path: path))
            case .scriptFetches(let url, let login?):
                byScript += 1
                withLogin += 1
                // A file of the job, never argv or the environment; the script deletes it before the executors.
                let name = "tesp-login-\(index)"
                let file = JobScript.curlCredentials(user: login.user, password: login.password)
                do {
                    try await pulsar.upload(jobID: job.jobID, name: name, type: .input, contents: ByteBuffer(string: file))
                } catch let error as PulsarError {
                    throw TaskFailure("inputs[\(index)]: upload of its login to Pulsar failed: \(error)")
                }
                placed.append(.init(fetching: url, field: "inputs[\(index)]", path: path, credentials: name))
            }
        }
        if !routes.isEmpty {
            logger.info(
                "Inputs left for the Pulsar host to fetch",
                metadata: ["pulsar": "\(byPulsar)", "job script": "\(byScript)", "with a login": "\(withLogin)"]
            )
        }
        return placed
    }

    /// A pre-signed output URL lasts as long as S3 allows: the job may wait in Pulsar's queue and run for days
    /// before it writes (and if it has expired, TESP sends the file itself).
    static let outputURLLifetimeSeconds = 7 * 24 * 3600

    func sentOutputs(of job: BackendJob) -> [Int: JobScript.SentOutput] {
        var sent: [Int: JobScript.SentOutput] = [:]
        for (index, output) in (job.task.outputs ?? []).enumerated() {
            guard output.type != .directory, let path = output.path, !TESPath.hasWildcards(path), let text = output.url,
                let url = StorageURL(text),
                let direct = transfers.directWriteURL(
                    url,
                    secret: job.secrets[TaskCredentials.key(for: url)],
                    querySecret: job.secrets[TaskCredentials.queryKey(for: url)],
                    secretsAllowed: trusted,
                    lifetimeSeconds: Self.outputURLLifetimeSeconds
                )
            else { continue }
            sent[index] = JobScript.SentOutput(url: direct.text, maximumBytes: direct.maximumBytes)
        }
        return sent
    }

    /// The schemes Pulsar 0.16 fetches itself, and those the job script fetches with curl.
    static let pulsarSchemes: Set<String> = ["http", "https"]
    static let scriptSchemes: Set<String> = ["ftp", "ftps"]

    func stageOut(_ job: BackendJob, on pulsar: any PulsarJobFiles, logger: Logger) async throws -> [TESOutputFileLog] {
        try await throughTESP.stageOut(job, on: pulsar, logger: logger)
    }

    /// The same inputs for the same task every time; a pre-signed URL is signed afresh (a submit after a restart
    /// gets URLs that are good for as long as the first ones were).
    func remoteInputs(of job: BackendJob) -> [(index: Int, input: PulsarRemoteInput)] {
        let now = Date()
        return routes(of: job).compactMap { index, route in
            switch route {
            case .pulsarFetches(let url):
                (index, PulsarRemoteInput(name: Self.remoteName(index), url: url))
            case .servedByTESP:
                served.map { (index, PulsarRemoteInput(name: Self.remoteName(index), url: $0.url(taskID: job.task.id ?? "", input: index, now: now))) }
            case .scriptFetches:
                nil
            }
        }
    }

    /// Where Pulsar puts an input it fetched, in the job's inputs directory.
    private static func remoteName(_ index: Int) -> String { "input-\(index)" }

    /// How a FILE input with a URL reaches the Pulsar host without TESP's disk.
    enum InputRoute: Equatable {
        /// Pulsar fetches it from its source (`remote_transfer`): plain http(s), or S3 through a URL TESP signs.
        case pulsarFetches(url: String)
        /// The job script fetches it with curl: FTP without a password, or (`login`, on a trusted backend) an
        /// ftp(s)/http(s) URL with the login TESP hands over.
        case scriptFetches(url: String, login: Credential?)
        /// Pulsar fetches it from TESP (``ServedInputURLs``), which streams it from its source.
        case servedByTESP
    }

    /// Each FILE input's route, by index, in order; an input without one (content, a DIRECTORY, a URL only TESP
    /// may read when `server.public_url` is not set) goes through TESP's disk.
    func routes(of job: BackendJob) -> [(index: Int, route: InputRoute)] {
        (job.task.inputs ?? []).enumerated().compactMap { index, input in
            guard input.content?.isEmpty ?? true, input.type != .directory, let text = input.url, let url = StorageURL(text) else { return nil }
            let secret = job.secrets[TaskCredentials.key(for: url)]
            let querySecret = job.secrets[TaskCredentials.queryKey(for: url)]
            if let direct = transfers.directReadURL(url, secret: secret, querySecret: querySecret, secretsAllowed: trusted) {
                // As signed: not re-encoded.
                let scheme = StorageURL(direct.text)?.scheme ?? ""
                if Self.pulsarSchemes.contains(scheme) { return (index, .pulsarFetches(url: direct.text)) }
                if Self.scriptSchemes.contains(scheme) { return (index, .scriptFetches(url: direct.text, login: nil)) }
                return nil
            }
            if trusted, let handed = transfers.loginForBackend(url, secret: secret, querySecret: querySecret) {
                return (index, .scriptFetches(url: handed.url.text, login: handed.login))
            }
            if served != nil, transfers.storage.readableSchemes.contains(url.scheme) { return (index, .servedByTESP) }
            return nil
        }
    }

    /// Names the task's own URL (never a pre-signed one) and asks its server from TESP why it could not be read.
    func explainFailedFetch(_ job: BackendJob, on pulsar: String, detail: String) async -> String? {
        let remote = remoteInputs(of: job)
        guard !remote.isEmpty else { return nil }
        let said = detail.isEmpty ? "" : ": \(Redaction.redact(detail))"
        let inputs = job.task.inputs ?? []
        // Pulsar 0.16 writes the reason where its status API does not read it: ask the servers, as Pulsar did.
        for (index, _) in remote {
            guard let text = inputs[index].url, let url = StorageURL(text) else { continue }
            if detail.contains(text) {
                return "inputs[\(index)]: Pulsar '\(pulsar)' could not fetch \(url)\(said)"
            }
            if let problem = await transfers.problem(reading: url, secret: job.secrets[TaskCredentials.key(for: url)]) {
                return "inputs[\(index)]: Pulsar '\(pulsar)' could not fetch \(url) (checked from TESP: \(problem))"
            }
        }
        let fields = remote.map { "inputs[\($0.index)]" }.joined(separator: ", ")
        return "\(fields): Pulsar '\(pulsar)' could not fetch its inputs\(said.isEmpty ? " (Pulsar's log says why)" : said)"
    }
}
