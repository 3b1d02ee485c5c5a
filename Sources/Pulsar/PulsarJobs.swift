import NIOCore

/// A file Pulsar fetches itself before the job starts (`remote_staging.setup`, action `remote_transfer`: a GET of
/// `url` into the inputs directory as `name`).
public struct PulsarRemoteInput: Sendable, Equatable {
    public var name: String
    public var url: String

    public init(name: String, url: String) {
        self.name = name
        self.url = url
    }
}

extension PulsarJobs {
    /// Starts the job's command; every input is already in the job's directory.
    public func submit(jobID: String, commandLine: String) async throws {
        try await submit(jobID: jobID, commandLine: commandLine, remoteInputs: [])
    }
}

/// A Pulsar job's files, as staging moves them: uploaded before the job, downloaded after it. Over REST these are
/// Pulsar's file endpoints; a server reached through a message queue has none, and its backend answers from what
/// travels in the messages.
public protocol PulsarJobFiles: Sendable {
    /// The server's name in the settings (for logs and task metadata).
    var name: String { get }
    /// Stores `contents` as a file of the job.
    func upload(jobID: String, name: String, type: PulsarFileType, contents: ByteBuffer) async throws
    /// Stores the local file at `path` as a file of the job, streamed (memory does not grow with its size).
    func uploadFile(jobID: String, name: String, type: PulsarFileType, path: String) async throws
    /// A file of the job, at most `maxBytes` long.
    func download(jobID: String, name: String, type: PulsarFileType, maxBytes: Int) async throws -> ByteBuffer
    /// Writes a file of the job to the local `path`, streamed. - Returns: the number of bytes.
    func downloadFile(jobID: String, name: String, type: PulsarFileType, to path: String) async throws -> Int64
    /// Hands a file of the job to `write` chunk by chunk as it arrives (a slow `write` slows the download).
    /// - Returns: the number of bytes.
    func downloadFile(jobID: String, name: String, type: PulsarFileType, into write: @Sendable (ByteBuffer) async throws -> Void) async throws -> Int64
}

/// The calls TESP makes on one Pulsar server (its REST API). One implementation talks HTTP; the protocol keeps
/// the engine independent of it.
public protocol PulsarJobs: PulsarJobFiles {
    /// Creates the job's directories (idempotent for an existing id).
    func setup(jobID: String) async throws -> PulsarJobDirectories
    /// Starts the job's command, after Pulsar fetched `remoteInputs` into the job's inputs directory itself (its
    /// `preprocessing` state).
    func submit(jobID: String, commandLine: String, remoteInputs: [PulsarRemoteInput]) async throws
    func status(jobID: String) async throws -> PulsarJobStatus
    /// Stops the job's processes (Pulsar answers OK for unknown and finished jobs too).
    func cancel(jobID: String) async throws
    /// Removes the job's directory (idempotent).
    func clean(jobID: String) async throws
    /// The server's version; fails when it does not answer or refuses the token.
    func health() async throws -> String
}
