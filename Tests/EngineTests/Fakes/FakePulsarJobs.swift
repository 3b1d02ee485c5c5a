import Foundation
import NIOCore
import Pulsar

/// A Pulsar server in memory: jobs with their files, a state the test sets, and a log of the calls made.
///
/// Files are kept by `type/name`; a job is created by `setup`, started by `submit` (state `queued`), and from then
/// on moves only when the test says so (`setState`), so that a test decides exactly what the engine sees.
actor FakePulsarJobs: PulsarJobs {
    nonisolated let name: String

    struct Job {
        var files: [String: ByteBuffer] = [:]
        var status = PulsarJobStatus(state: .preprocessing, isFinished: false)
        var commandLine: String?
        /// What the submit asked Pulsar to fetch itself.
        var remoteInputs: [PulsarRemoteInput] = []
        var canceled = false
    }

    private(set) var jobs: [String: Job] = [:]
    private(set) var calls: [String] = []

    init(name: String) { self.name = name }

    // MARK: What the test does

    func setState(
        _ jobID: String,
        _ state: PulsarJobStatus.State,
        finished: Bool = false,
        returnCode: Int? = nil,
        stderr: String = "",
        pulsarStderr: String = ""
    ) {
        jobs[jobID, default: Job()].status = PulsarJobStatus(
            state: state, isFinished: finished, returnCode: returnCode, jobStderr: stderr, stderr: pulsarStderr
        )
    }

    /// Puts a file into the job's working directory, as the job script would.
    func write(_ jobID: String, _ name: String, _ text: String, type: PulsarFileType = .outputWorkdir) {
        jobs[jobID, default: Job()].files[Self.key(type, name)] = ByteBuffer(string: text)
    }

    func file(_ jobID: String, _ name: String, type: PulsarFileType) -> String? {
        jobs[jobID]?.files[Self.key(type, name)].map { String(buffer: $0) }
    }

    func count(_ call: String) -> Int { calls.filter { $0 == call }.count }

    // MARK: PulsarJobs

    private static func key(_ type: PulsarFileType, _ name: String) -> String {
        // The download types read what the job wrote to its working directory.
        let folder = type == .outputWorkdir || type == .workdir ? "workdir" : type.rawValue
        return folder + "/" + name
    }

    private func record(_ call: String) {
        calls.append(call)
    }

    func setup(jobID: String) throws -> PulsarJobDirectories {
        record("setup")
        if jobs[jobID] == nil { jobs[jobID] = Job() }
        let root = "/pulsar/staging/\(jobID)"
        return PulsarJobDirectories(
            jobDirectory: root,
            workingDirectory: root + "/working",
            inputsDirectory: root + "/inputs",
            configsDirectory: root + "/configs"
        )
    }

    func upload(jobID: String, name: String, type: PulsarFileType, contents: ByteBuffer) throws {
        record("upload")
        guard jobs[jobID] != nil else { throw PulsarError(.serverError, "no job \(jobID)") }
        jobs[jobID]!.files[Self.key(type, name)] = contents
    }

    func uploadFile(jobID: String, name: String, type: PulsarFileType, path: String) throws {
        record("uploadFile")
        guard jobs[jobID] != nil else { throw PulsarError(.serverError, "no job \(jobID)") }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        jobs[jobID]!.files[Self.key(type, name)] = ByteBuffer(bytes: data)
    }

    func downloadFile(jobID: String, name: String, type: PulsarFileType, to path: String) throws -> Int64 {
        record("downloadFile")
        guard let buffer = jobs[jobID]?.files[Self.key(type, name)] else { throw PulsarError(.serverError, "no file \(name)") }
        try Data(buffer.readableBytesView).write(to: URL(fileURLWithPath: path))
        return Int64(buffer.readableBytes)
    }

    func downloadFile(jobID: String, name: String, type: PulsarFileType, into write: @Sendable (ByteBuffer) async throws -> Void) async throws -> Int64 {
        record("downloadFile")
        guard let buffer = jobs[jobID]?.files[Self.key(type, name)] else { throw PulsarError(.serverError, "no file \(name)") }
        try await write(buffer)
        return Int64(buffer.readableBytes)
    }

    func submit(jobID: String, commandLine: String, remoteInputs: [PulsarRemoteInput]) throws {
        record("submit")
        guard jobs[jobID] != nil else { throw PulsarError(.serverError, "no job \(jobID)") }
        jobs[jobID]!.commandLine = commandLine
        jobs[jobID]!.remoteInputs = remoteInputs
        jobs[jobID]!.status = PulsarJobStatus(state: .queued, isFinished: false)
    }

    func status(jobID: String) throws -> PulsarJobStatus {
        record("status")
        // As Pulsar: an unknown job is "lost".
        return jobs[jobID]?.status ?? PulsarJobStatus(state: .lost, isFinished: true)
    }

    func download(jobID: String, name: String, type: PulsarFileType, maxBytes: Int) throws -> ByteBuffer {
        record("download")
        guard let buffer = jobs[jobID]?.files[Self.key(type, name)] else { throw PulsarError(.serverError, "no file \(name)") }
        guard buffer.readableBytes <= maxBytes else { throw PulsarError(.badResponse, "more than \(maxBytes) bytes") }
        return buffer
    }

    func cancel(jobID: String) throws {
        record("cancel")
        if var job = jobs[jobID], !job.status.isFinished {
            job.canceled = true
            job.status = PulsarJobStatus(state: .cancelled, isFinished: true)
            jobs[jobID] = job
        }
    }

    func clean(jobID: String) throws {
        record("clean")
        jobs[jobID] = nil
    }

    func health() throws -> String {
        record("health")
        return "fake"
    }
}
