/// One command run in one container (`tesExecutor`).
public struct TESExecutor: Codable, Sendable, Equatable {
    /// Container image name, passed as is to the container runtime.
    public var image: String?
    /// The program and its arguments (argv); each element reaches the program unchanged.
    public var command: [String]?
    public var workdir: String?
    public var stdin: String?
    public var stdout: String?
    public var stderr: String?
    public var env: [String: String]?
    /// When true, a non-zero exit is recorded and the next executor still runs.
    public var ignoreError: Bool?

    public init(
        image: String? = nil,
        command: [String]? = nil,
        workdir: String? = nil,
        stdin: String? = nil,
        stdout: String? = nil,
        stderr: String? = nil,
        env: [String: String]? = nil,
        ignoreError: Bool? = nil
    ) {
        self.image = image
        self.command = command
        self.workdir = workdir
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.env = env
        self.ignoreError = ignoreError
    }

    enum CodingKeys: String, CodingKey {
        case image, command, workdir, stdin, stdout, stderr, env
        case ignoreError = "ignore_error"
    }
}
