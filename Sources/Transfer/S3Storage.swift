import CCurl
import Foundation
import NIOPosix
import TES

/// Where TESP's S3 requests go and as whom: AWS, or any S3-compatible store (MinIO, Ceph, moto) at `endpoint`.
public struct S3Configuration: Sendable, Equatable {
    /// How a bucket is named in a request: in the path (`endpoint/bucket/key`, what most S3-compatible stores
    /// want) or in the host name (`bucket.endpoint/key`, AWS's default).
    public enum Addressing: String, Sendable, CaseIterable {
        /// Virtual-host on AWS, path-style with a custom endpoint (and for bucket names with dots).
        case auto
        case path
        case virtual
    }

    /// Base URL of the store (`http://minio:9000`); empty: AWS in `region`.
    public var endpoint: String
    public var region: String
    public var addressing: Addressing
    /// Requests are signed (AWS Signature V4) with these; an empty key id: unsigned (public buckets).
    public var accessKeyID: String
    public var secretAccessKey: String
    /// Temporary credentials' token (`x-amz-security-token`), or empty.
    public var sessionToken: String
    /// Files larger than this go up as a multipart upload in parts of this size (at least S3's minimum, 5 MiB).
    public var partBytes: Int64
    /// How long a pre-signed URL (for a backend that fetches its own inputs) stays good.
    public var presignLifetimeSeconds: Int

    public static let minimumPartBytes: Int64 = 5 * 1024 * 1024

    public init(
        endpoint: String = "",
        region: String = "us-east-1",
        addressing: Addressing = .auto,
        accessKeyID: String = "",
        secretAccessKey: String = "",
        sessionToken: String = "",
        partBytes: Int64 = 64 * 1024 * 1024,
        presignLifetimeSeconds: Int = 3600
    ) {
        self.presignLifetimeSeconds = presignLifetimeSeconds
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        self.region = region.isEmpty ? "us-east-1" : region
        self.addressing = addressing
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.partBytes = max(Self.minimumPartBytes, partBytes)
    }
}

extension S3Configuration {
    /// The configuration from settings, with what they leave empty taken from the standard AWS variables
    /// (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_DEFAULT_REGION`, and the keys
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, taken together or not at all).
    public static func resolving(
        endpoint: String,
        region: String,
        addressing: Addressing,
        accessKeyID: String,
        secretAccessKey: String,
        sessionToken: String,
        partBytes: Int64,
        presignLifetimeSeconds: Int = 3600,
        environment: [String: String]
    ) -> S3Configuration {
        func env(_ names: String...) -> String {
            names.lazy.compactMap { environment[$0] }.first { !$0.isEmpty } ?? ""
        }
        let fromSettings = !accessKeyID.isEmpty
        return S3Configuration(
            endpoint: endpoint.isEmpty ? env("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL") : endpoint,
            region: region.isEmpty ? env("AWS_REGION", "AWS_DEFAULT_REGION") : region,
            addressing: addressing,
            accessKeyID: fromSettings ? accessKeyID : env("AWS_ACCESS_KEY_ID"),
            secretAccessKey: fromSettings ? secretAccessKey : env("AWS_SECRET_ACCESS_KEY"),
            sessionToken: fromSettings ? sessionToken : env("AWS_SESSION_TOKEN"),
            partBytes: partBytes,
            presignLifetimeSeconds: presignLifetimeSeconds
        )
    }
}

extension S3Configuration {
    /// Google Cloud Storage's XML API: path-style requests, signed for region `auto` with an HMAC key's access id
    /// and secret (none: unsigned, for public buckets).
    public static func googleCloudStorage(
        endpoint: String = "https://storage.googleapis.com",
        accessID: String = "",
        secret: String = "",
        partBytes: Int64 = 64 * 1024 * 1024,
        presignLifetimeSeconds: Int = 3600
    ) -> S3Configuration {
        S3Configuration(
            endpoint: endpoint,
            region: "auto",
            addressing: .path,
            accessKeyID: accessID,
            secretAccessKey: secret,
            partBytes: partBytes,
            presignLifetimeSeconds: presignLifetimeSeconds
        )
    }
}

/// `s3://bucket/key` through libcurl, signed with AWS Signature V4 by libcurl itself (`CURLOPT_AWS_SIGV4`).
///
/// DIRECTORY inputs are listed with ListObjectsV2 (paged); outputs larger than the part size go up as a
/// multipart upload read from disk part by part, so memory stays flat whatever the file's size. Every blocking
/// call runs on `threads`, as in ``CurlStorage``. Payloads are not hashed (`UNSIGNED-PAYLOAD`): a file is sent as
/// it is read, and TLS protects it on the way.
public struct S3Storage: Storage {
    private let threads: NIOThreadPool
    private let limits: TransferLimits
    public let configuration: S3Configuration

    /// S3 allows at most this many parts in one upload.
    static let maxParts: Int64 = 10_000

    public init(threads: NIOThreadPool, configuration: S3Configuration, limits: TransferLimits = .init()) {
        self.threads = threads
        self.configuration = configuration
        self.limits = limits
    }

    public func download(_ url: StorageURL, to localPath: String, credentials: Credential?) async throws -> Int64 {
        let client = client(credentials)
        return try await threads.runCancellable { abortSwitch in
            let descriptor = open(localPath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else {
                throw TransferError(.failed, "cannot write \(localPath): \(String(cString: strerror(errno)))")
            }
            defer { close(descriptor) }
            let object = try S3Object(url)
            let reply = try client.send(S3Request(.get, object), for: url, "download", into: descriptor, abortSwitch: abortSwitch)
            return reply.bytesReceived
        }
    }

    public func upload(_ localPath: String, to url: StorageURL, credentials: Credential?) async throws -> Int64 {
        try await upload(localPath, size: nil, to: url, credentials: credentials)
    }

    public func upload(pipe pipePath: String, size: Int64, to url: StorageURL, credentials: Credential?) async throws -> Int64 {
        try await upload(pipePath, size: size, to: url, credentials: credentials)
    }

    /// `size`: what a pipe will carry; `nil` for a file's own size. Parts are read in order, so a pipe works.
    private func upload(_ localPath: String, size knownSize: Int64?, to url: StorageURL, credentials: Credential?) async throws -> Int64 {
        let client = client(credentials)
        return try await threads.runCancellable { abortSwitch in
            let (descriptor, size) = try openForUpload(localPath, size: knownSize)
            defer { close(descriptor) }
            let object = try S3Object(url)
            if size <= client.configuration.partBytes {
                var request = S3Request(.put, object)
                request.upload = (descriptor, 0, size)
                _ = try client.send(request, for: url, "upload", abortSwitch: abortSwitch)
                return size
            }
            try client.uploadInParts(descriptor, size: size, to: object, url: url, abortSwitch: abortSwitch)
            return size
        }
    }

    public func listFiles(under url: StorageURL, credentials: Credential?) async throws -> [RemoteFile] {
        let client = client(credentials)
        let limits = limits
        return try await threads.runCancellable { abortSwitch in
            let object = try S3Object(url)
            let prefix = object.key.isEmpty || object.key.hasSuffix("/") ? object.key : object.key + "/"
            var files: [RemoteFile] = []
            var token: String?
            repeat {
                var request = S3Request(.get, S3Object(bucket: object.bucket, key: ""))
                request.query = [("list-type", "2"), ("prefix", prefix)] + (token.map { [("continuation-token", $0)] } ?? [])
                let reply = try client.send(request, for: url, "listing", abortSwitch: abortSwitch)
                let text = String(decoding: reply.body, as: UTF8.self)
                for entry in S3XML.elements("Contents", in: text[...]) {
                    guard let key = S3XML.value("Key", in: entry), key.hasPrefix(prefix) else { continue }
                    let relative = String(key.dropFirst(prefix.count))
                    if relative.isEmpty || relative.hasSuffix("/") { continue }  // the folder markers consoles make
                    let segments = relative.split(separator: "/", omittingEmptySubsequences: false)
                    // A key is many path segments: none may lead out of the input's directory.
                    for segment in segments {
                        if let problem = TESPath.problem(withListedName: String(segment)) {
                            throw TransferError(.failed, "the listing of \(url) has a key whose name \(problem): \(key.debugDescription.prefix(200))")
                        }
                    }
                    guard segments.count - 1 <= limits.maxListingDepth else {
                        throw TransferError(.failed, "\(url) is nested deeper than \(limits.maxListingDepth) directories; the limit is transfer.max_listing_depth")
                    }
                    files.append(RemoteFile(relativePath: relative, size: S3XML.value("Size", in: entry).flatMap { Int64($0) }))
                    guard files.count <= limits.maxListingEntries else {
                        throw TransferError(.failed, "\(url) holds more than \(limits.maxListingEntries) entries; the limit is transfer.max_listing_entries")
                    }
                }
                token = S3XML.value("IsTruncated", in: text[...]) == "true" ? S3XML.value("NextContinuationToken", in: text[...]) : nil
            } while token != nil
            return files.sorted { $0.relativePath.utf8.lexicographicallyPrecedes($1.relativePath.utf8) }
        }
    }

    public func size(of url: StorageURL, credentials: Credential?) async throws -> Int64? {
        let client = client(credentials)
        return try await threads.runCancellable { abortSwitch in
            try client.send(S3Request(.head, try S3Object(url)), for: url, "size", abortSwitch: abortSwitch).contentLength
        }
    }

    /// A pre-signed GET (a plain URL without keys, for a public bucket).
    public func directReadURL(for url: StorageURL, credentials: Credential?, lifetimeSeconds: Int, now: Date) -> DirectURL? {
        presigned(.get, url, credentials: credentials, lifetimeSeconds: lifetimeSeconds, now: now)
    }

    /// A pre-signed PUT: one request, so at most 5 GiB (S3's limit for a single PUT).
    public func directWriteURL(for url: StorageURL, credentials: Credential?, lifetimeSeconds: Int, now: Date) -> DirectURL? {
        presigned(.put, url, credentials: credentials, lifetimeSeconds: lifetimeSeconds, now: now)
            .map { DirectURL($0.text, isCredential: $0.isCredential, maximumBytes: Self.singlePutBytes) }
    }

    /// S3 refuses a single PUT above 5 GiB; larger files need multipart, which a pre-signed URL cannot do alone.
    public static let singlePutBytes: Int64 = 5 * 1024 * 1024 * 1024

    private func presigned(_ method: S3Request.Method, _ url: StorageURL, credentials: Credential?, lifetimeSeconds: Int, now: Date) -> DirectURL? {
        guard let object = try? S3Object(url), !object.key.isEmpty else { return nil }
        let client = client(credentials)
        let text = S3Presigner(client: client).url(method, object, lifetimeSeconds: lifetimeSeconds, now: now)
        return DirectURL(text, isCredential: !client.configuration.accessKeyID.isEmpty)
    }

    /// The configured client, with the access key of a `transfer.credentials` entry for the bucket (`credentials`)
    /// when there is one.
    private func client(_ credentials: Credential?) -> S3Client {
        var configuration = configuration
        if let credentials, !credentials.user.isEmpty {
            configuration.accessKeyID = credentials.user
            configuration.secretAccessKey = credentials.password
            configuration.sessionToken = ""
        }
        return S3Client(configuration: configuration, limits: limits)
    }
}

/// A bucket and a key, from `s3://bucket/key`.
struct S3Object: Sendable, Equatable {
    var bucket: String
    var key: String

    init(bucket: String, key: String) {
        self.bucket = bucket
        self.key = key
    }

    init(_ url: StorageURL) throws {
        guard !url.host.isEmpty else { throw TransferError(.failed, "\(url) names no bucket") }
        bucket = url.host
        key = url.path.hasPrefix("/") ? String(url.path.dropFirst()) : url.path
    }
}

/// One S3 call: the method, the object, the query, and a body read from a file (an upload or one part of one) or
/// given as text (the list of parts that completes a multipart upload).
struct S3Request: Sendable {
    enum Method: String, Sendable { case get = "GET", put = "PUT", post = "POST", delete = "DELETE", head = "HEAD" }

    var method: Method
    var object: S3Object
    var query: [(String, String)] = []
    var upload: (descriptor: Int32, offset: Int64, length: Int64)?
    var text: String?

    init(_ method: Method, _ object: S3Object) {
        self.method = method
        self.object = object
    }
}

/// What came back: the body (unless it went to a file), its size, and the headers S3 calls use.
struct S3Reply {
    var status: Int
    var body: Data
    var bytesReceived: Int64
    var etag: String?
    var contentLength: Int64?
}

/// Makes signed S3 calls with libcurl, on the calling (transfer) thread.
struct S3Client: Sendable {
    let configuration: S3Configuration
    let limits: TransferLimits

    /// The URL of a call: path-style or virtual-host, the key percent-encoded as S3 canonicalises it, the query
    /// sorted by name (libcurl 7.88 signs the query as given, and S3 compares with its sorted form).
    func address(_ request: S3Request) -> String {
        let endpoint = configuration.endpoint.isEmpty ? "https://s3.\(configuration.region).amazonaws.com" : configuration.endpoint
        let path = "/" + PercentEncoding.unreservedOnly(request.object.key, keepingSlashes: true)
        var base: String
        let virtual: Bool
        switch configuration.addressing {
        case .path: virtual = false
        case .virtual: virtual = true
        case .auto: virtual = configuration.endpoint.isEmpty && !request.object.bucket.contains(".")
        }
        if virtual, let schemeEnd = endpoint.range(of: "://") {
            base = endpoint[..<schemeEnd.upperBound] + request.object.bucket + "." + endpoint[schemeEnd.upperBound...] + path
        } else {
            base = endpoint + "/" + PercentEncoding.unreservedOnly(request.object.bucket) + (request.object.key.isEmpty ? "" : path)
        }
        if !request.query.isEmpty {
            base += "?" + PercentEncoding.query(request.query)
        }
        return base
    }

    /// Sends `request`; a body goes to `descriptor` when given, else into the reply (at most 16 MiB).
    /// - Throws: ``TransferError`` naming `url` and what S3 said (its error code), never the keys.
    func send(
        _ request: S3Request,
        for url: StorageURL,
        _ operation: String,
        into descriptor: Int32? = nil,
        abortSwitch: CurlAbortSwitch
    ) throws -> S3Reply {
        let curl = try CurlStorage.prepare(url, address: address(request), credentials: nil, netrc: "", limits: limits, abortSwitch: abortSwitch)
        // S3 wants the payload's hash in a header of its own with every signed request.
        var headers = ["x-amz-content-sha256: UNSIGNED-PAYLOAD"]
        if !configuration.accessKeyID.isEmpty {
            try curl.set(CURLOPT_AWS_SIGV4, "aws:amz:\(configuration.region):s3")
            try curl.set(CURLOPT_USERNAME, configuration.accessKeyID)
            try curl.set(CURLOPT_PASSWORD, configuration.secretAccessKey)
            if !configuration.sessionToken.isEmpty { headers.append("x-amz-security-token: \(configuration.sessionToken)") }
        }
        try curl.set(CURLOPT_USERAGENT, "TESP")
        try curl.captureResponseHeaders()
        var uploadStream: CurlFileStream?
        switch request.method {
        case .get: break
        case .head: try curl.set(CURLOPT_NOBODY, 1)
        case .delete: try curl.set(CURLOPT_CUSTOMREQUEST, "DELETE")
        case .post:
            try curl.set(CURLOPT_POST, 1)
            let text = request.text ?? ""
            if !text.isEmpty { headers.append("Content-Type: application/xml") }
            try curl.set(CURLOPT_POSTFIELDSIZE_LARGE, offset: Int64(text.utf8.count))
            try curl.set(CURLOPT_COPYPOSTFIELDS, text)
        case .put:
            // Without a body libcurl would read its standard input.
            guard let (file, offset, length) = request.upload else { throw TransferError(.failed, "an S3 PUT needs a body") }
            try curl.set(CURLOPT_UPLOAD, 1)
            try curl.set(CURLOPT_INFILESIZE_LARGE, offset: length)
            // A pipe cannot seek (ESPIPE); its parts come in order, each where the previous one ended.
            guard lseek(file, off_t(offset), SEEK_SET) == off_t(offset) || errno == ESPIPE else {
                throw TransferError(.failed, "cannot read the file to upload: \(String(cString: strerror(errno)))")
            }
            // A zero-length file still reads through the callback, which then ends at once.
            let stream = CurlFileStream(descriptor: file, readLimit: max(length, 0))
            uploadStream = stream
            try curl.set(CURLOPT_READFUNCTION, callback: curlReadFromFile)
            try curl.set(CURLOPT_READDATA, pointer: Unmanaged.passUnretained(stream).toOpaque())
        }
        try curl.setHeaders(headers)
        let memory = CurlMemorySink(limit: 16 * 1024 * 1024)
        let fileStream = descriptor.map { CurlFileStream(descriptor: $0, maxBytes: limits.maxFileBytes) }
        try curl.set(CURLOPT_WRITEFUNCTION, callback: fileStream == nil ? curlWriteToMemory : curlWriteToFile)
        let sinkPointer = fileStream.map { Unmanaged.passUnretained($0).toOpaque() } ?? Unmanaged.passUnretained(memory).toOpaque()
        try curl.set(CURLOPT_WRITEDATA, pointer: sinkPointer)
        let (code, message) = withExtendedLifetime((memory, fileStream, uploadStream)) { curl.perform() }
        if code != CURLE_OK {
            if fileStream?.exceededLimit == true {
                throw TransferError(.failed, "\(url) is larger than transfer.max_file_bytes (\(limits.maxFileBytes) bytes)")
            }
            throw CurlStorage.failure(of: curl, code: code, message: message, url: url, operation: operation)
        }
        let status = curl.responseCode
        var body = memory.data
        if let descriptor, !(200..<300).contains(status) {
            // The error document went to the file: read it back.
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            let count = pread(descriptor, &buffer, buffer.count, 0)
            body = Data(buffer.prefix(max(0, count)))
        }
        guard (200..<300).contains(status) else {
            throw Self.error(status: status, body: body, bucket: request.object.bucket, url: url, operation: operation)
        }
        return S3Reply(
            status: status,
            body: body,
            bytesReceived: fileStream?.bytes ?? Int64(body.count),
            etag: curl.responseHeader("ETag"),
            contentLength: curl.contentLength
        )
    }

    /// A multipart upload: initiate, one PUT per part read from `descriptor`, complete; abort on any failure, so
    /// that no half-uploaded parts are left to be billed.
    func uploadInParts(_ descriptor: Int32, size: Int64, to object: S3Object, url: StorageURL, abortSwitch: CurlAbortSwitch) throws {
        let partBytes = Self.partBytes(for: size, configured: configuration.partBytes)
        var initiate = S3Request(.post, object)
        initiate.query = [("uploads", "")]
        let started = try send(initiate, for: url, "upload (start of the multipart upload)", abortSwitch: abortSwitch)
        guard let uploadID = S3XML.value("UploadId", in: String(decoding: started.body, as: UTF8.self)[...]) else {
            throw TransferError(.failed, "upload of \(url) failed: S3 started a multipart upload without an UploadId")
        }
        do {
            var etags: [String] = []
            var offset: Int64 = 0
            while offset < size {
                if abortSwitch.isAborted { throw CancellationError() }
                var part = S3Request(.put, object)
                part.query = [("partNumber", "\(etags.count + 1)"), ("uploadId", uploadID)]
                part.upload = (descriptor, offset, min(partBytes, size - offset))
                let reply = try send(part, for: url, "upload (part \(etags.count + 1))", abortSwitch: abortSwitch)
                guard let etag = reply.etag else {
                    throw TransferError(.failed, "upload of \(url) failed: S3 answered part \(etags.count + 1) without an ETag")
                }
                etags.append(etag)
                offset += partBytes
            }
            var complete = S3Request(.post, object)
            complete.query = [("uploadId", uploadID)]
            complete.text = "<CompleteMultipartUpload>"
                + etags.enumerated().map { "<Part><PartNumber>\($0.offset + 1)</PartNumber><ETag>\(S3XML.escape($0.element))</ETag></Part>" }.joined()
                + "</CompleteMultipartUpload>"
            let reply = try send(complete, for: url, "upload (end of the multipart upload)", abortSwitch: abortSwitch)
            // S3 may answer 200 and still fail the completion, saying so in the body.
            if S3XML.value("Code", in: String(decoding: reply.body, as: UTF8.self)[...]) != nil {
                throw Self.error(status: 500, body: reply.body, bucket: object.bucket, url: url, operation: "upload")
            }
        } catch {
            var abort = S3Request(.delete, object)
            abort.query = [("uploadId", uploadID)]
            _ = try? send(abort, for: url, "upload (abort)", abortSwitch: CurlAbortSwitch())
            throw error
        }
    }

    /// The part size for a file of `size` bytes: the configured one, or larger when that would make more than
    /// S3's 10,000 parts (a file over 640 GiB with 64 MiB parts).
    static func partBytes(for size: Int64, configured: Int64) -> Int64 {
        max(configured, (size + S3Storage.maxParts - 1) / S3Storage.maxParts)
    }

    /// What S3's error document (or, without one, the status) says, as a ``TransferError`` of the right kind.
    static func error(status: Int, body: Data, bucket: String, url: StorageURL, operation: String) -> TransferError {
        let text = String(decoding: body, as: UTF8.self)[...]
        let code = S3XML.value("Code", in: text) ?? ""
        let message = S3XML.value("Message", in: text).map { ": \($0.prefix(300))" } ?? ""
        let said = code.isEmpty ? "S3 answered \(status)" : "S3 said \(code)\(message)"
        let detail = "\(operation) of \(url) failed: \(said)"
        switch code {
        case "NoSuchBucket":
            return TransferError(.notFound, "\(operation) of \(url) failed: the bucket '\(bucket)' does not exist (S3 said NoSuchBucket)")
        case "NoSuchKey", "NoSuchUpload":
            return TransferError(.notFound, detail)
        case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "AllAccessDisabled":
            return TransferError(.denied, detail)
        case "SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "RequestTimeTooSkewed", "OperationAborted":
            return TransferError(.transient, detail)
        case "PermanentRedirect", "AuthorizationHeaderMalformed":
            return TransferError(.failed, detail + " (is s3.region the bucket's region?)")
        default:
            break
        }
        switch status {
        case 404: return TransferError(.notFound, detail)
        case 401, 403: return TransferError(.denied, detail)
        case 408, 429, 500...599: return TransferError(.transient, detail)
        default: return TransferError(.failed, detail)
        }
    }
}
