import AsyncHTTPClient
import Foundation
import Logging
import TES
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import _NIOFileSystem

/// A Pulsar server reached over its REST API with AsyncHTTPClient.
///
/// Pulsar's quirks, handled here: every argument is a query parameter; JSON comes as `text/html`; the token goes in
/// `private_token` on every call (so URLs are never logged or put into errors).
public struct PulsarClient: PulsarJobs {
    /// Where a Pulsar server is and how to call it.
    public struct Configuration: Sendable {
        public var name: String
        /// Base URL, for example `http://pulsar:8913`.
        public var url: String
        /// Pulsar's `private_token`; never logged.
        public var token: String
        /// Timeout of each call that is not a file transfer.
        public var timeout: TimeAmount
        /// Timeout of an upload or download.
        public var transferTimeout: TimeAmount

        public init(name: String, url: String, token: String, timeout: TimeAmount = .seconds(30), transferTimeout: TimeAmount = .hours(1)) {
            self.name = name
            self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
            self.token = token
            self.timeout = timeout
            self.transferTimeout = transferTimeout
        }
    }

    public let configuration: Configuration
    private let http: HTTPClient

    public var name: String { configuration.name }

    public init(_ configuration: Configuration, http: HTTPClient) {
        self.configuration = configuration
        self.http = http
    }

    public func setup(jobID: String) async throws -> PulsarJobDirectories {
        let body = try await call(.POST, "/jobs", ["job_id": jobID], operation: "setup")
        return try decode(PulsarJobDirectories.self, body, operation: "setup")
    }

    public func upload(jobID: String, name: String, type: PulsarFileType, contents: ByteBuffer) async throws {
        _ = try await call(
            .POST,
            "/jobs/\(jobID)/files",
            ["name": name, "type": type.rawValue],
            body: .bytes(contents),
            timeout: configuration.transferTimeout,
            operation: "upload"
        )
    }

    public func uploadFile(jobID: String, name: String, type: PulsarFileType, path: String) async throws {
        let fileSystem = FileSystem.shared
        do {
            try await fileSystem.withFileHandle(forReadingAt: FilePath(path)) { handle in
                let size = try await handle.info().size
                let chunks = handle.readChunks(in: 0..<size, chunkLength: .mebibytes(1))
                _ = try await call(
                    .POST,
                    "/jobs/\(jobID)/files",
                    ["name": name, "type": type.rawValue],
                    body: .stream(chunks, length: .known(size)),
                    timeout: configuration.transferTimeout,
                    operation: "upload"
                )
            }
        } catch let error as FileSystemError {
            throw PulsarError(.badResponse, "cannot read the file to upload: \(error.code)")
        }
    }

    public func downloadFile(jobID: String, name: String, type: PulsarFileType, to path: String) async throws -> Int64 {
        let response = try await openDownload(jobID: jobID, name: name, type: type)
        do {
            return try await FileSystem.shared.withFileHandle(
                forWritingAt: FilePath(path),
                options: .newFile(replaceExisting: true)
            ) { handle in
                var offset: Int64 = 0
                for try await chunk in response.body {
                    offset += try await handle.write(contentsOf: chunk, toAbsoluteOffset: offset)
                }
                return offset
            }
        } catch let error as FileSystemError {
            throw PulsarError(.badResponse, "cannot write the downloaded file: \(error.code)")
        } catch let error as PulsarError {
            throw error
        } catch {
            throw PulsarError(Self.code(of: error), "Pulsar '\(name)' download broke off: \(Self.describe(error))")
        }
    }

    public func downloadFile(
        jobID: String,
        name: String,
        type: PulsarFileType,
        into write: @Sendable (ByteBuffer) async throws -> Void
    ) async throws -> Int64 {
        let response = try await openDownload(jobID: jobID, name: name, type: type)
        var bytes: Int64 = 0
        var chunks = response.body.makeAsyncIterator()
        while true {
            let chunk: ByteBuffer?
            do {
                chunk = try await chunks.next()
            } catch {
                throw PulsarError(Self.code(of: error), "Pulsar '\(name)' download broke off: \(Self.describe(error))")
            }
            guard let chunk else { return bytes }
            bytes += Int64(chunk.readableBytes)
            // The receiver's own error stays what it is: it is not Pulsar's.
            try await write(chunk)
        }
    }

    /// The response to a file download whose status said yes; its body is still to be read.
    private func openDownload(jobID: String, name: String, type: PulsarFileType) async throws -> HTTPClientResponse {
        let response = try await send(
            .GET,
            "/jobs/\(jobID)/files",
            ["name": name, "type": type.rawValue],
            body: nil,
            timeout: configuration.transferTimeout,
            operation: "download"
        )
        guard (200..<300).contains(response.status.code) else {
            _ = try? await response.body.collect(upTo: 1 << 20)
            throw Self.error(status: response.status.code, server: self.name, operation: "download")
        }
        return response
    }

    public func submit(jobID: String, commandLine: String, remoteInputs: [PulsarRemoteInput]) async throws {
        let setupParams = "{\"job_id\": \"\(jobID)\"}"
        var query = ["command_line": commandLine, "setup_params": setupParams]
        if !remoteInputs.isEmpty { query["remote_staging"] = try Self.remoteStaging(remoteInputs) }
        _ = try await call(.POST, "/jobs/\(jobID)/submit", query, operation: "submit")
    }

    /// The `remote_staging` parameter of a submit: one `remote_transfer` action per input.
    static func remoteStaging(_ inputs: [PulsarRemoteInput]) throws -> String {
        String(decoding: try PulsarRemoteStaging.encoder.encode(PulsarRemoteStaging(inputs: inputs)), as: UTF8.self)
    }

    public func status(jobID: String) async throws -> PulsarJobStatus {
        let body = try await call(.GET, "/jobs/\(jobID)/status", [:], operation: "status")
        return try decode(PulsarJobStatus.self, body, operation: "status")
    }

    public func download(jobID: String, name: String, type: PulsarFileType, maxBytes: Int) async throws -> ByteBuffer {
        try await call(
            .GET,
            "/jobs/\(jobID)/files",
            ["name": name, "type": type.rawValue],
            maxBytes: maxBytes,
            timeout: configuration.transferTimeout,
            operation: "download"
        )
    }

    public func cancel(jobID: String) async throws {
        _ = try await call(.PUT, "/jobs/\(jobID)/cancel", [:], operation: "cancel")
    }

    public func clean(jobID: String) async throws {
        _ = try await call(.DELETE, "/jobs/\(jobID)", [:], operation: "clean")
    }

    public func health() async throws -> String {
        struct Health: Decodable { let version: String }
        let body = try await call(.GET, "/healthz", [:], operation: "health")
        return try decode(Health.self, body, operation: "health").version
    }

    // MARK: - HTTP

    private func call(
        _ method: HTTPMethod,
        _ path: String,
        _ query: [String: String],
        body: HTTPClientRequest.Body? = nil,
        maxBytes: Int = 16 * 1024 * 1024,
        timeout: TimeAmount? = nil,
        operation: String
    ) async throws -> ByteBuffer {
        let response = try await send(method, path, query, body: body, timeout: timeout, operation: operation)
        let bytes: ByteBuffer
        do {
            bytes = try await response.body.collect(upTo: maxBytes)
        } catch {
            throw PulsarError(.badResponse, "Pulsar '\(name)' \(operation): answer unreadable or over \(maxBytes) bytes")
        }
        guard (200..<300).contains(response.status.code) else {
            throw Self.error(status: response.status.code, server: name, operation: operation)
        }
        return bytes
    }

    /// Sends a request and returns the response head, its body not yet read.
    private func send(
        _ method: HTTPMethod,
        _ path: String,
        _ query: [String: String],
        body: HTTPClientRequest.Body?,
        timeout: TimeAmount?,
        operation: String
    ) async throws -> HTTPClientResponse {
        // By hand, not URLComponents: that cost more than the rest of a status call's own work (profiled), and
        // it leaves '+' alone, which Pulsar's parser reads as a space.
        let encodedQuery = PercentEncoding.query(query.map { ($0.key, $0.value) } + [("private_token", configuration.token)])
        var request = HTTPClientRequest(url: configuration.url + path + "?" + encodedQuery)
        request.method = method
        if let body { request.body = body }
        do {
            return try await http.execute(request, timeout: timeout ?? configuration.timeout)
        } catch {
            // A caller that was cancelled (a cancel, a shutdown) is told so, not that Pulsar failed.
            if Task.isCancelled || error is CancellationError || (error as? HTTPClientError) == .cancelled {
                throw CancellationError()
            }
            throw PulsarError(Self.code(of: error), "Pulsar '\(name)' did not answer \(operation): \(Self.describe(error))")
        }
    }

    private static func error(status: UInt, server: String, operation: String) -> PulsarError {
        switch status {
        case 401, 403:
            PulsarError(.unauthorized, "Pulsar '\(server)' refused the token (\(status)) during \(operation)")
        case 500...:
            PulsarError(.serverError, "Pulsar '\(server)' answered \(status) to \(operation)")
        default:
            PulsarError(.rejected, "Pulsar '\(server)' answered \(status) to \(operation)")
        }
    }

    private func decode<T: Decodable>(_ type: T.Type, _ body: ByteBuffer, operation: String) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer: body))
        } catch {
            throw PulsarError(.badResponse, "Pulsar '\(name)' sent an unreadable answer to \(operation)")
        }
    }

    /// A call that waited too long for one of TESP's own pooled connections is TESP's limit, not Pulsar's failure.
    private static func code(of error: any Error) -> PulsarError.Code {
        (error as? HTTPClientError) == .getConnectionFromPoolTimeout ? .busy : .unreachable
    }

    /// An error's kind without its details, which may hold the URL (and so the token).
    private static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError { return error.shortDescription }
        return "\(type(of: error))"
    }
}
