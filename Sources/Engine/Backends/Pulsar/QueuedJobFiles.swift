import JobScript
import NIOCore
import Pulsar
import Synchronization

/// A queue job's files as staging sees them: there is no file API on a Pulsar server reached through a broker.
/// What staging uploads (content inputs, logins for the job script) is kept here and travels in the setup message;
/// what staging downloads after the job (its records, its output list) is read from the report the job script
/// printed to its stdout, which came back in Pulsar's final status message. Any other file cannot be moved.
final class QueuedJobFiles: PulsarJobFiles {
    let name: String
    private let collected = Mutex<[PulsarLaunch.File]>([])
    private let report: JobReport

    init(name: String, report: JobReport = JobReport()) {
        self.name = name
        self.report = report
    }

    /// The files uploaded so far, in order.
    var files: [PulsarLaunch.File] { collected.withLock { $0 } }

    func upload(jobID: String, name: String, type: PulsarFileType, contents: ByteBuffer) async throws {
        collected.withLock { $0.append(.init(name: name, type: type, contents: String(buffer: contents))) }
    }

    func uploadFile(jobID: String, name: String, type: PulsarFileType, path: String) async throws {
        throw Self.noFileAPI(self.name)
    }

    func download(jobID: String, name: String, type: PulsarFileType, maxBytes: Int) async throws -> ByteBuffer {
        guard type == .outputWorkdir, let text = report.files[name] else {
            throw PulsarError(.rejected, "the job on Pulsar '\(self.name)' reported no file \(name)")
        }
        return ByteBuffer(string: text)
    }

    func downloadFile(jobID: String, name: String, type: PulsarFileType, to path: String) async throws -> Int64 {
        throw Self.noFileAPI(self.name)
    }

    func downloadFile(
        jobID: String, name: String, type: PulsarFileType, into write: @Sendable (ByteBuffer) async throws -> Void
    ) async throws -> Int64 {
        throw Self.noFileAPI(self.name)
    }

    static func noFileAPI(_ name: String) -> PulsarError {
        PulsarError(.rejected, "Pulsar '\(name)' is reached through a message queue: TESP cannot move files to or from it")
    }
}
