/// What Pulsar says about a job (`GET /jobs/{id}/status`).
public struct PulsarJobStatus: Sendable, Equatable, Decodable {
    /// Pulsar's state names.
    public enum State: Sendable, Equatable {
        case preprocessing, queued, running, postprocessing, complete, cancelled, failed, lost
        case other(String)

        public init(_ raw: String) {
            switch raw {
            case "preprocessing": self = .preprocessing
            case "queued": self = .queued
            case "running": self = .running
            case "postprocessing": self = .postprocessing
            case "complete": self = .complete
            case "cancelled": self = .cancelled
            case "failed": self = .failed
            case "lost": self = .lost
            default: self = .other(raw)
            }
        }
    }

    public var state: State
    /// Whether Pulsar is done with the job (it sends the strings "true" and "false").
    public var isFinished: Bool
    /// The job command's exit code, once finished.
    public var returnCode: Int?
    /// The job command's own stdout and stderr.
    public var jobStdout: String
    public var jobStderr: String
    /// Pulsar's `stderr` (a Galaxy tool's, `metadata/tool_stderr`): empty for TESP's jobs. Pulsar 0.16 writes a
    /// failed preprocessing's error to `<job>/stderr`, which its status does not read, so it is not here either;
    /// read in case a Pulsar puts it here.
    public var stderr: String

    public init(
        state: State,
        isFinished: Bool,
        returnCode: Int? = nil,
        jobStdout: String = "",
        jobStderr: String = "",
        stderr: String = ""
    ) {
        self.state = state
        self.isFinished = isFinished
        self.returnCode = returnCode
        self.jobStdout = jobStdout
        self.jobStderr = jobStderr
        self.stderr = stderr
    }

    enum CodingKeys: String, CodingKey {
        case status, complete, returncode, stderr
        case jobStdout = "job_stdout"
        case jobStderr = "job_stderr"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        state = State(try c.decode(String.self, forKey: .status))
        if let text = try? c.decode(String.self, forKey: .complete) {
            isFinished = text == "true"
        } else {
            isFinished = try c.decodeIfPresent(Bool.self, forKey: .complete) ?? false
        }
        returnCode = try c.decodeIfPresent(Int.self, forKey: .returncode)
        jobStdout = try c.decodeIfPresent(String.self, forKey: .jobStdout) ?? ""
        jobStderr = try c.decodeIfPresent(String.self, forKey: .jobStderr) ?? ""
        stderr = (try? c.decodeIfPresent(String.self, forKey: .stderr)) ?? ""
    }
}

/// The directories of a job on the Pulsar host (`POST /jobs` answer).
public struct PulsarJobDirectories: Sendable, Equatable, Decodable {
    public var jobDirectory: String
    public var workingDirectory: String
    public var inputsDirectory: String
    public var configsDirectory: String

    public init(jobDirectory: String, workingDirectory: String, inputsDirectory: String, configsDirectory: String) {
        self.jobDirectory = jobDirectory
        self.workingDirectory = workingDirectory
        self.inputsDirectory = inputsDirectory
        self.configsDirectory = configsDirectory
    }

    enum CodingKeys: String, CodingKey {
        case jobDirectory = "job_directory"
        case workingDirectory = "working_directory"
        case inputsDirectory = "inputs_directory"
        case configsDirectory = "configs_directory"
    }
}

/// Pulsar's file types for uploads and downloads (each maps to a folder of the job).
public enum PulsarFileType: String, Sendable {
    case input, config, tool, workdir, unstructured
    /// Downloads from the outputs folder.
    case output
    /// Downloads from the working directory.
    case outputWorkdir = "output_workdir"
}
