import Foundation
import TES
import Logging
import Metrics
import NIOPosix

/// Every transfer TESP makes, by URL scheme, with retries of transient failures and one global bound on how many
/// run at once (the size of its thread pool: libcurl and file copies block).
public final class Transfers: Sendable {
    /// What the operator configured.
    public struct Configuration: Sendable {
        /// Transfers in flight at once, over all tasks.
        public var maxConcurrent: Int
        /// How often a transient failure is retried.
        public var retries: Int
        /// The first wait before a retry; it doubles each time.
        public var retryDelay: Duration
        /// Directories `file://` URLs may point into; none: `file://` is refused.
        public var allowedFileDirectories: [String]
        /// A netrc file with credentials per host, or empty.
        public var netrcFile: String
        /// Credentials per server, as URLs with user info (`ftp://user:password@host:port`).
        public var credentials: [StorageURL]
        /// Bounds on listings, speed, duration and size.
        public var limits: TransferLimits
        /// Where `s3://` URLs go, and with which keys (none: unsigned requests, for public buckets).
        public var s3: S3Configuration
        /// Where `gs://` URLs go: Google Cloud Storage's XML API, which speaks S3 (SigV4 with an HMAC key).
        public var gs: S3Configuration
        /// Bearer tokens and plain-HTTP hosts for `drs://` inputs.
        public var drs: DRSConfiguration

        public init(
            maxConcurrent: Int = 8,
            retries: Int = 4,
            retryDelay: Duration = .milliseconds(500),
            allowedFileDirectories: [String] = [],
            netrcFile: String = "",
            credentials: [StorageURL] = [],
            limits: TransferLimits = .init(),
            s3: S3Configuration = .init(),
            gs: S3Configuration = .googleCloudStorage(),
            drs: DRSConfiguration = .init()
        ) {
            self.gs = gs
            self.drs = drs
            self.limits = limits
            self.s3 = s3
            self.maxConcurrent = maxConcurrent
            self.retries = retries
            self.retryDelay = retryDelay
            self.allowedFileDirectories = allowedFileDirectories
            self.netrcFile = netrcFile
            self.credentials = credentials
        }
    }

    public let configuration: Configuration
    /// Every kind of storage, by scheme: what tasks may read and write.
    public let storage: StorageRegistry
    private let threads: NIOThreadPool
    private let logger: Logger

    public init(_ configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.threads = NIOThreadPool(numberOfThreads: max(1, configuration.maxConcurrent))
        self.threads.start()
        self.storage = Self.registry(configuration, threads: threads)
        self.logger = logger
    }

    /// The kinds of storage for `configuration`, their blocking work on `threads`.
    public static func registry(_ configuration: Configuration, threads: NIOThreadPool) -> StorageRegistry {
        let curl = CurlStorage(threads: threads, netrcFile: configuration.netrcFile, limits: configuration.limits)
        let s3 = S3Storage(threads: threads, configuration: configuration.s3, limits: configuration.limits)
        return StorageRegistry([
            .init(schemes: ["ftp", "ftps", "http", "https"], storage: curl),
            .init(
                schemes: ["file"],
                storage: LocalFileStorage(allowedDirectories: configuration.allowedFileDirectories, threads: threads, limits: configuration.limits)
            ),
            .init(schemes: ["s3"], storage: s3),
            // The same code path as s3://: Cloud Storage's XML API takes AWS Signature V4 with HMAC keys.
            .init(schemes: ["gs"], storage: S3Storage(threads: threads, configuration: configuration.gs, limits: configuration.limits)),
            .init(
                schemes: ["drs"],
                storage: DRSStorage(curl: curl, s3: s3, threads: threads, configuration: configuration.drs),
                canRead: true,
                canWrite: false
            ),
        ])
    }

    /// Stops the transfer threads; call once, when nothing transfers any more.
    public func shutdown() async throws {
        try await threads.shutdownGracefully()
    }

    /// `logger` (with the task's id) tells of retries; without one, the transfers' own.
    public func download(_ url: StorageURL, to localPath: String, secret: String?, logger: Logger? = nil) async throws -> Int64 {
        let storage = try self.storage.reader(for: url)
        let credential = credential(for: url, secret: secret)
        let bytes = try await retrying("download", url, logger: logger) { try await storage.download(url, to: localPath, credentials: credential) }
        Self.countBytes(bytes, direction: "in", url: url)
        return bytes
    }

    public func upload(_ localPath: String, to url: StorageURL, secret: String?, logger: Logger? = nil) async throws -> Int64 {
        let storage = try self.storage.writer(for: url)
        let credential = credential(for: url, secret: secret)
        let bytes = try await retrying("upload", url, logger: logger) { try await storage.upload(localPath, to: url, credentials: credential) }
        Self.countBytes(bytes, direction: "out", url: url)
        return bytes
    }

    public func listFiles(under url: StorageURL, secret: String?, logger: Logger? = nil) async throws -> [RemoteFile] {
        let storage = try self.storage.reader(for: url)
        let credential = credential(for: url, secret: secret)
        return try await retrying("listing", url, logger: logger) { try await storage.listFiles(under: url, credentials: credential) }
    }

    /// Why the file at `url` cannot be read, or `nil` when its server answers for it (one try: a size request).
    public func problem(reading url: StorageURL, secret: String?) async -> TransferError? {
        do {
            _ = try await checkedSize(of: url, secret: secret)
            return nil
        } catch {
            return error
        }
    }

    /// The size of the file at `url` if its server says, or why it cannot be read (one try).
    public func checkedSize(of url: StorageURL, secret: String?) async throws(TransferError) -> Int64? {
        do {
            return try await storage.reader(for: url).size(of: url, credentials: credential(for: url, secret: secret))
        } catch let error as TransferError {
            throw error
        } catch {
            throw TransferError(.failed, "\(url): \(error)")
        }
    }

    /// The size of the file at `url`, if its server says (one try, no retries: placement only uses it as a hint).
    public func size(of url: StorageURL, secret: String?) async -> Int64? {
        guard let storage = try? self.storage.reader(for: url) else { return nil }
        return (try? await storage.size(of: url, credentials: credential(for: url, secret: secret))) ?? nil
    }

    /// A URL a backend can fetch `url` from by itself, or `nil` when only TESP can read it: the storage cannot give
    /// one, the task came with a credential for its query, or the URL would be a secret (pre-signed) and
    /// `secretsAllowed` is false. A host given as an IP literal in `transfer.denied_networks` gets none either: a
    /// name resolves on the backend's side, under its own rules.
    public func directReadURL(_ url: StorageURL, secret: String?, querySecret: String?, secretsAllowed: Bool, now: Date = Date()) -> DirectURL? {
        guard querySecret == nil, let storage = try? self.storage.reader(for: url) else { return nil }
        let lifetime = configuration.s3.presignLifetimeSeconds
        let direct = storage.directReadURL(for: url, credentials: credential(for: url, secret: secret), lifetimeSeconds: lifetime, now: now)
        return allowed(direct, secretsAllowed: secretsAllowed)
    }

    /// A URL a backend can write `url` to by itself, on the terms of ``directReadURL(_:secret:querySecret:secretsAllowed:now:)``.
    /// A pre-signed one is good for `lifetimeSeconds` (capped at S3's seven days): the job may wait and run long
    /// before it writes.
    public func directWriteURL(
        _ url: StorageURL,
        secret: String?,
        querySecret: String?,
        secretsAllowed: Bool,
        lifetimeSeconds: Int,
        now: Date = Date()
    ) -> DirectURL? {
        guard querySecret == nil, let storage = try? self.storage.writer(for: url) else { return nil }
        let direct = storage.directWriteURL(
            for: url,
            credentials: credential(for: url, secret: secret),
            lifetimeSeconds: min(lifetimeSeconds, S3Presigner.maximumLifetimeSeconds),
            now: now
        )
        return allowed(direct, secretsAllowed: secretsAllowed)
    }

    /// The login a backend trusted with it would need to fetch `url` by itself with curl (ftp, ftps, http, https),
    /// the URL to fetch without it, or `nil` when there is no login to give, or it is not only a login: a secret
    /// in the query, a netrc file (which may hold anything for the host), a denied network.
    public func loginForBackend(_ url: StorageURL, secret: String?, querySecret: String?) -> (url: StorageURL, login: Credential)? {
        guard ["ftp", "ftps", "http", "https"].contains(url.scheme), querySecret == nil, !url.hasSecretQuery,
            configuration.netrcFile.isEmpty, !configuration.limits.deniedNetworks.deniesLiteral(url.host),
            let login = credential(for: url, secret: secret), !login.password.isEmpty
        else { return nil }
        var bare = url
        bare.user = nil
        bare.password = nil
        return (bare, login)
    }

    private func allowed(_ direct: DirectURL?, secretsAllowed: Bool) -> DirectURL? {
        guard let direct, secretsAllowed || !direct.isCredential,
            let target = StorageURL(direct.text), !configuration.limits.deniedNetworks.deniesLiteral(target.host)
        else { return nil }
        return direct
    }

    /// The credential for `url`: its user with the password the task came with (`secret`), else the configured
    /// credential for the same server (and user, when the URL names one); none means anonymous (or netrc).
    func credential(for url: StorageURL, secret: String?) -> Credential? {
        if let user = url.user, let password = secret ?? url.password {
            return Credential(user: user, password: password)
        }
        let configured = configuration.credentials.first { entry in
            entry.origin == url.origin && (url.user == nil || entry.user == url.user)
        }
        if let configured, let user = configured.user {
            return Credential(user: user, password: configured.password ?? "")
        }
        return url.user.map { Credential(user: $0, password: "") }
    }

    static func countBytes(_ bytes: Int64, direction: String, url: StorageURL) {
        Counter(label: "tesp_transfer_bytes_total", dimensions: [("direction", direction), ("scheme", url.scheme)])
            .increment(by: bytes)
    }

    func retrying<T: Sendable>(
        _ what: String,
        _ url: StorageURL,
        logger: Logger?,
        _ body: () async throws -> T
    ) async throws -> T {
        let logger = logger ?? self.logger
        var delay = configuration.retryDelay
        var attempt = 0
        while true {
            do {
                return try await body()
            } catch let error as TransferError where error.code == .transient && attempt < configuration.retries {
                attempt += 1
                logger.warning(
                    "Transfer failed; will retry",
                    metadata: ["transfer.url": "\(url)", "transfer.operation": "\(what)", "error": "\(error)", "attempt": "\(attempt)"]
                )
                try await Task.sleep(for: delay)
                delay = delay * 2
            } catch is NIOThreadPoolError.ThreadPoolInactive {
                throw CancellationError()
            } catch let error as TransferError {
                Counter(label: "tesp_transfer_failures_total", dimensions: [("scheme", url.scheme), ("kind", "\(error.code)")])
                    .increment()
                throw error
            }
        }
    }
}
