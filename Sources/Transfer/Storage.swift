import Foundation
import TES
/// One file found under a directory URL.
public struct RemoteFile: Sendable, Equatable {
    /// The path below the listed directory, without a leading `/` (`sub/dir/file.txt`).
    public var relativePath: String
    public var size: Int64?

    public init(relativePath: String, size: Int64? = nil) {
        self.relativePath = relativePath
        self.size = size
    }
}

/// Moves files between this machine's disk and one kind of storage (FTP, HTTP, local files).
///
/// Transfers stream through disk: memory use does not grow with the file size.
public protocol Storage: Sendable {
    /// Writes the file at `url` to `localPath` (created or replaced). - Returns: the number of bytes.
    func download(_ url: StorageURL, to localPath: String, credentials: Credential?) async throws -> Int64
    /// Writes the file at `localPath` to `url`, creating missing directories. - Returns: the number of bytes.
    func upload(_ localPath: String, to url: StorageURL, credentials: Credential?) async throws -> Int64
    /// Writes `size` bytes read in order from the pipe at `pipePath` (`/proc/self/fd/N`) to `url`: one pass,
    /// nothing re-read (an S3 multipart upload reads its parts one after another), so no retries.
    /// - Returns: the number of bytes.
    func upload(pipe pipePath: String, size: Int64, to url: StorageURL, credentials: Credential?) async throws -> Int64
    /// Every file below the directory `url`, recursively.
    func listFiles(under url: StorageURL, credentials: Credential?) async throws -> [RemoteFile]
    /// The size of the file at `url` without fetching it (HTTP HEAD, FTP SIZE, stat), or `nil` when the server
    /// does not say.
    func size(of url: StorageURL, credentials: Credential?) async throws -> Int64?
    /// A URL another machine can GET the file at `url` from by itself (a backend that stages its own inputs), good
    /// for `lifetimeSeconds` from `now`; `nil` when this kind of storage cannot give one for these credentials.
    func directReadURL(for url: StorageURL, credentials: Credential?, lifetimeSeconds: Int, now: Date) -> DirectURL?
    /// A URL another machine can write the file at `url` to by itself with a plain PUT (curl's `-T`, which is a
    /// STOR for FTP), as ``directReadURL(for:credentials:lifetimeSeconds:now:)`` for reading.
    func directWriteURL(for url: StorageURL, credentials: Credential?, lifetimeSeconds: Int, now: Date) -> DirectURL?
}

extension Storage {
    public func upload(pipe pipePath: String, size: Int64, to url: StorageURL, credentials: Credential?) async throws -> Int64 {
        throw TransferError(.unsupported, "\(url.scheme) cannot be written from a stream (\(url))")
    }
    public func directReadURL(for url: StorageURL, credentials: Credential?, lifetimeSeconds: Int, now: Date) -> DirectURL? { nil }
    public func directWriteURL(for url: StorageURL, credentials: Credential?, lifetimeSeconds: Int, now: Date) -> DirectURL? { nil }
}

/// A URL that reads (GET) or writes (PUT) one file, needing nothing else.
public struct DirectURL: Sendable, Equatable {
    public var text: String
    /// Whether the URL itself grants access (a pre-signed URL): then it is a secret, handed only to a backend
    /// trusted with secrets and redacted wherever it is shown.
    public var isCredential: Bool
    /// The largest file one request to a write URL may carry (S3's single PUT: 5 GiB); nil for no limit.
    public var maximumBytes: Int64?

    public init(_ text: String, isCredential: Bool, maximumBytes: Int64? = nil) {
        self.text = text
        self.isCredential = isCredential
        self.maximumBytes = maximumBytes
    }
}

/// A user name and password for a storage server.
public struct Credential: Sendable, Equatable, CustomStringConvertible {
    public var user: String
    public var password: String

    public init(user: String, password: String) {
        self.user = user
        self.password = password
    }

    public var description: String { "\(user):<redacted>" }
}
