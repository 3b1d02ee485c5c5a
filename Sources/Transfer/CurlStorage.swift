import CCurl
import Foundation
import NIOPosix
import TES

/// FTP, FTPS, HTTP and HTTPS through libcurl. Every blocking libcurl call runs on `threads`, whose size is the
/// global bound on concurrent transfers.
public struct CurlStorage: Storage {
    private let threads: NIOThreadPool
    /// A netrc file with credentials per host, or empty.
    private let netrcFile: String
    private let limits: TransferLimits

    public init(threads: NIOThreadPool, netrcFile: String = "", limits: TransferLimits = .init()) {
        self.threads = threads
        self.netrcFile = netrcFile
        self.limits = limits
    }

    public func download(_ url: StorageURL, to localPath: String, credentials: Credential?) async throws -> Int64 {
        try await download(url, to: localPath, credentials: credentials, headers: [])
    }

    /// A download with extra request headers (`Name: value`), as a DRS access URL may require.
    func download(_ url: StorageURL, to localPath: String, credentials: Credential?, headers: [String]) async throws -> Int64 {
        let netrc = netrcFile
        let limits = limits
        return try await cancellable { abortSwitch in
            let descriptor = open(localPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else {
                throw TransferError(.failed, "cannot write \(localPath): \(String(cString: strerror(errno)))")
            }
            defer { close(descriptor) }
            let stream = CurlFileStream(descriptor: descriptor, maxBytes: limits.maxFileBytes)
            let curl = try Self.prepare(url, credentials: credentials, netrc: netrc, limits: limits, abortSwitch: abortSwitch)
            if url.scheme.hasPrefix("http") {
                try curl.set(CURLOPT_FOLLOWLOCATION, 1)
                if !headers.isEmpty { try curl.setHeaders(headers) }
            }
            try curl.set(CURLOPT_WRITEFUNCTION, callback: curlWriteToFile)
            try withExtendedLifetime(stream) {
                try curl.set(CURLOPT_WRITEDATA, pointer: Unmanaged.passUnretained(stream).toOpaque())
                do {
                    try Self.run(curl, url, "download")
                } catch is TransferError where stream.exceededLimit {
                    throw TransferError(.failed, "\(url) is larger than transfer.max_file_bytes (\(limits.maxFileBytes) bytes)")
                }
            }
            return stream.bytes
        }
    }

    public func upload(_ localPath: String, to url: StorageURL, credentials: Credential?) async throws -> Int64 {
        try await upload(localPath, size: nil, to: url, credentials: credentials)
    }

    public func upload(pipe pipePath: String, size: Int64, to url: StorageURL, credentials: Credential?) async throws -> Int64 {
        try await upload(pipePath, size: size, to: url, credentials: credentials)
    }

    /// `size`: what a pipe will carry (its own size says nothing); `nil` for a file's own size.
    private func upload(_ localPath: String, size knownSize: Int64?, to url: StorageURL, credentials: Credential?) async throws -> Int64 {
        let netrc = netrcFile
        let limits = limits
        return try await cancellable { abortSwitch in
            let (descriptor, size) = try openForUpload(localPath, size: knownSize)
            defer { close(descriptor) }
            let stream = CurlFileStream(descriptor: descriptor)
            let curl = try Self.prepare(url, credentials: credentials, netrc: netrc, limits: limits, abortSwitch: abortSwitch)
            try curl.set(CURLOPT_UPLOAD, 1)  // FTP STOR, HTTP PUT
            try curl.set(CURLOPT_INFILESIZE_LARGE, offset: size)
            if url.scheme.hasPrefix("ftp") {
                try curl.set(CURLOPT_FTP_CREATE_MISSING_DIRS, Int(CURLFTP_CREATE_DIR_RETRY.rawValue))
            }
            try curl.set(CURLOPT_READFUNCTION, callback: curlReadFromFile)
            try withExtendedLifetime(stream) {
                try curl.set(CURLOPT_READDATA, pointer: Unmanaged.passUnretained(stream).toOpaque())
                try Self.run(curl, url, "upload")
            }
            return stream.bytes
        }
    }

    public func listFiles(under url: StorageURL, credentials: Credential?) async throws -> [RemoteFile] {
        guard url.scheme.hasPrefix("ftp") else {
            throw TransferError(.unsupported, "directories cannot be listed over \(url.scheme) (\(url))")
        }
        var files: [RemoteFile] = []
        var pending = [(relative: "", depth: 0)]  // directories still to list
        var entries = 0
        while let (relative, depth) = pending.popLast() {
            let directory = relative.isEmpty ? url : url.appending(relative)
            for entry in try await listDirectory(directory, credentials: credentials) {
                // A name is one path segment: a server that lists `../../x` or `a/b` must not place a file
                // outside the input's directory.
                if let problem = TESPath.problem(withListedName: entry.name) {
                    throw TransferError(.failed, "the listing of \(directory) has an entry whose name \(problem): \(entry.name.debugDescription.prefix(200))")
                }
                entries += 1
                if entries > limits.maxListingEntries {
                    throw TransferError(.failed, "\(url) holds more than \(limits.maxListingEntries) entries; the limit is transfer.max_listing_entries")
                }
                let path = relative.isEmpty ? entry.name : relative + "/" + entry.name
                if entry.isDirectory {
                    guard depth + 1 <= limits.maxListingDepth else {
                        throw TransferError(.failed, "\(url) is nested deeper than \(limits.maxListingDepth) directories; the limit is transfer.max_listing_depth")
                    }
                    pending.append((path, depth + 1))
                } else {
                    files.append(RemoteFile(relativePath: path, size: entry.size))
                }
            }
        }
        return files.sorted { $0.relativePath.utf8.lexicographicallyPrecedes($1.relativePath.utf8) }
    }

    /// One FTP directory, through MLSD (RFC 3659), whose lines say what each entry is.
    private func listDirectory(_ url: StorageURL, credentials: Credential?) async throws -> [MLSDEntry] {
        let netrc = netrcFile
        let limits = limits
        var directory = url
        if !directory.path.hasSuffix("/") { directory.path += "/" }
        let listed = directory
        let text = try await cancellable { abortSwitch in
            let sink = CurlMemorySink(limit: 64 * 1024 * 1024)
            let curl = try Self.prepare(listed, credentials: credentials, netrc: netrc, limits: limits, abortSwitch: abortSwitch)
            try curl.set(CURLOPT_CUSTOMREQUEST, "MLSD")
            try curl.set(CURLOPT_WRITEFUNCTION, callback: curlWriteToMemory)
            try withExtendedLifetime(sink) {
                try curl.set(CURLOPT_WRITEDATA, pointer: Unmanaged.passUnretained(sink).toOpaque())
                try Self.run(curl, listed, "listing")
            }
            return String(decoding: sink.data, as: UTF8.self)
        }
        return MLSDEntry.parse(text)
    }

    /// The body of a small HTTP GET (a DRS object's JSON), at most `maxBytes`.
    func fetch(_ url: StorageURL, headers: [String], maxBytes: Int = 4 * 1024 * 1024) async throws -> Data {
        let limits = limits
        return try await cancellable { abortSwitch in
            let sink = CurlMemorySink(limit: maxBytes)
            let curl = try Self.prepare(url, credentials: nil, netrc: "", limits: limits, abortSwitch: abortSwitch)
            try curl.set(CURLOPT_FOLLOWLOCATION, 1)
            try curl.setHeaders(headers)
            try curl.set(CURLOPT_WRITEFUNCTION, callback: curlWriteToMemory)
            try withExtendedLifetime(sink) {
                try curl.set(CURLOPT_WRITEDATA, pointer: Unmanaged.passUnretained(sink).toOpaque())
                try Self.run(curl, url, "resolving")
            }
            return sink.data
        }
    }

    public func size(of url: StorageURL, credentials: Credential?) async throws -> Int64? {
        let netrc = netrcFile
        let limits = limits
        return try await cancellable { abortSwitch in
            let curl = try Self.prepare(url, credentials: credentials, netrc: netrc, limits: limits, abortSwitch: abortSwitch)
            try curl.set(CURLOPT_NOBODY, 1)  // HTTP HEAD; FTP SIZE (and MDTM), no data connection
            if url.scheme.hasPrefix("http") { try curl.set(CURLOPT_FOLLOWLOCATION, 1) }
            // For FTP, libcurl writes what it learnt as header lines to the body callback: without one, to stdout.
            let sink = CurlMemorySink(limit: 64 * 1024)
            try curl.set(CURLOPT_WRITEFUNCTION, callback: curlWriteToMemory)
            try withExtendedLifetime(sink) {
                try curl.set(CURLOPT_WRITEDATA, pointer: Unmanaged.passUnretained(sink).toOpaque())
                try Self.run(curl, url, "size")
            }
            return curl.contentLength
        }
    }

    /// The URL itself, when it needs nothing secret: no password, no credential in the query and no netrc file
    /// (which might hold one for its host).
    public func directReadURL(for url: StorageURL, credentials: Credential?, lifetimeSeconds: Int, now: Date) -> DirectURL? {
        guard credentials == nil, url.user == nil, url.password == nil,
            !url.hasSecretQuery, netrcFile.isEmpty
        else { return nil }
        return DirectURL(url.text, isCredential: false)
    }

    /// The URL itself, on the same terms as for reading.
    public func directWriteURL(for url: StorageURL, credentials: Credential?, lifetimeSeconds: Int, now: Date) -> DirectURL? {
        directReadURL(for: url, credentials: credentials, lifetimeSeconds: lifetimeSeconds, now: now)
    }

    private func cancellable<T: Sendable>(_ body: @escaping @Sendable (CurlAbortSwitch) throws -> T) async throws -> T {
        try await threads.runCancellable(body)
    }

    /// A handle for `url` with TESP's limits, the abort switch, the denied networks and credentials (user and
    /// password, else the netrc file) set. S3 passes the URL to call (`address`) and signs instead.
    static func prepare(
        _ url: StorageURL,
        address: String? = nil,
        credentials: Credential?,
        netrc: String,
        limits: TransferLimits,
        abortSwitch: CurlAbortSwitch
    ) throws -> CurlEasy {
        let curl = try CurlEasy()
        try curl.abortWhen(abortSwitch)
        try curl.set(CURLOPT_URL, address ?? url.withoutCredentials.text)
        try curl.set(CURLOPT_LOW_SPEED_LIMIT, max(1, limits.lowSpeedBytesPerSecond))
        try curl.set(CURLOPT_LOW_SPEED_TIME, max(1, limits.lowSpeedSeconds))
        if limits.maxSecondsPerFile > 0 { try curl.set(CURLOPT_TIMEOUT, limits.maxSecondsPerFile) }
        try curl.refuseConnections(to: limits.deniedNetworks)
        if let credentials {
            try curl.set(CURLOPT_USERNAME, credentials.user)
            try curl.set(CURLOPT_PASSWORD, credentials.password)
        } else if !netrc.isEmpty {
            try curl.set(CURLOPT_NETRC, Int(CURL_NETRC_OPTIONAL.rawValue))
            try curl.set(CURLOPT_NETRC_FILE, netrc)
        }
        if url.scheme.hasPrefix("http") {
            // S3 reads its error bodies, so it leaves this off.
            try curl.set(CURLOPT_FAILONERROR, 1)
            try curl.set(CURLOPT_USERAGENT, "TESP")
        }
        return curl
    }

    static func run(_ curl: CurlEasy, _ url: StorageURL, _ operation: String) throws {
        let (code, message) = curl.perform()
        guard code != CURLE_OK else { return }
        throw failure(of: curl, code: code, message: message, url: url, operation: operation)
    }

    /// The error a failed libcurl transfer ends with: `CancellationError` when the abort switch stopped it, a
    /// refused address, else what ``classify(_:response:message:url:operation:)`` makes of it.
    static func failure(of curl: CurlEasy, code: CURLcode, message: String, url: StorageURL, operation: String) -> any Error {
        if code == CURLE_ABORTED_BY_CALLBACK { return CancellationError() }
        if let refused = curl.socketGuard?.refusedAddress {
            return TransferError(.denied, "\(operation) of \(url) refused: \(refused) is in transfer.denied_networks")
        }
        return classify(code, response: curl.responseCode, message: message, url: url, operation: operation)
    }

    /// Turns a libcurl failure into a transient or permanent ``TransferError``.
    static func classify(_ code: CURLcode, response: Int, message: String, url: StorageURL, operation: String) -> TransferError {
        let detail = "\(operation) of \(url) failed: \(message)" + (response > 0 ? " (server said \(response))" : "")
        let isFTP = url.scheme.hasPrefix("ftp")
        if isFTP {
            switch response {
            case 421, 425, 426, 450, 451: return TransferError(.transient, detail)
            case 530: return TransferError(.denied, detail)
            case 550: return TransferError(.notFound, detail)
            default: break
            }
        } else {
            switch response {
            case 408, 429, 500...599: return TransferError(.transient, detail)
            case 401, 403: return TransferError(.denied, detail)
            case 404, 410: return TransferError(.notFound, detail)
            case 400...499: return TransferError(.failed, detail)
            default: break
            }
        }
        switch code {
        case CURLE_REMOTE_FILE_NOT_FOUND, CURLE_REMOTE_ACCESS_DENIED:
            return TransferError(.notFound, detail)
        case CURLE_LOGIN_DENIED:
            return TransferError(.denied, detail)
        case CURLE_COULDNT_CONNECT, CURLE_OPERATION_TIMEDOUT, CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING,
            CURLE_PARTIAL_FILE, CURLE_COULDNT_RESOLVE_HOST, CURLE_FTP_ACCEPT_FAILED, CURLE_FTP_ACCEPT_TIMEOUT,
            CURLE_FTP_WEIRD_PASV_REPLY, CURLE_FTP_CANT_GET_HOST, CURLE_SSL_CONNECT_ERROR:
            return TransferError(.transient, detail)
        case CURLE_UNSUPPORTED_PROTOCOL:
            return TransferError(.unsupported, detail)
        default:
            return TransferError(.failed, detail)
        }
    }
}

/// One line of an FTP MLSD listing: `type=file;size=12;modify=…; name`.
struct MLSDEntry: Equatable {
    var name: String
    var isDirectory: Bool
    var size: Int64?

    static func parse(_ text: String) -> [MLSDEntry] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            guard let space = line.firstIndex(of: " ") else { return nil }
            let name = String(line[line.index(after: space)...])
            var facts: [String: String] = [:]
            for fact in line[..<space].split(separator: ";") {
                let pair = fact.split(separator: "=", maxSplits: 1)
                if pair.count == 2 { facts[pair[0].lowercased()] = String(pair[1]) }
            }
            switch facts["type"]?.lowercased() {
            case "file": return MLSDEntry(name: name, isDirectory: false, size: facts["size"].flatMap { Int64($0) })
            case "dir": return MLSDEntry(name: name, isDirectory: true, size: nil)
            default: return nil  // cdir, pdir, links and the rest
            }
        }
    }
}
