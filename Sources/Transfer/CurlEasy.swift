import CCurl
import Foundation
import NIOPosix

/// One libcurl easy handle, made, used and freed inside one call on a transfer thread (never shared).
final class CurlEasy {
    let handle: UnsafeMutableRawPointer
    /// The open-socket callback's user data; kept here so that it lives as long as the handle.
    private(set) var socketGuard: CurlSocketGuard?
    private var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    /// Request headers set with ``setHeaders(_:)``; libcurl reads the list until the transfer ends.
    private var headerList: UnsafeMutablePointer<curl_slist>?
    /// The response's header lines, when ``captureResponseHeaders()`` asked for them.
    private var headerSink: CurlMemorySink?

    init() throws {
        CurlRuntime.start()
        guard let handle = curl_easy_init() else { throw TransferError(.failed, "libcurl could not create a handle") }
        self.handle = handle
        // Threads: no signals. The speed and time limits come from TransferLimits (CurlStorage.prepare).
        try set(CURLOPT_NOSIGNAL, 1)
        try set(CURLOPT_CONNECTTIMEOUT, 30)
    }

    deinit {
        curl_easy_cleanup(handle)
        if let headerList { curl_slist_free_all(headerList) }
    }

    /// Sends `headers` (`Name: value` lines) with the request, replacing any set before.
    func setHeaders(_ headers: [String]) throws {
        var list: UnsafeMutablePointer<curl_slist>?
        for header in headers { list = curl_slist_append(list, header) }
        try check(tesp_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, list), "setting the request headers")
        if let headerList { curl_slist_free_all(headerList) }
        headerList = list
    }

    /// Keeps the response's header lines for ``responseHeader(_:)``.
    func captureResponseHeaders() throws {
        let sink = CurlMemorySink(limit: 1 << 20)
        headerSink = sink
        try set(CURLOPT_HEADERFUNCTION, callback: curlWriteToMemory)
        try set(CURLOPT_HEADERDATA, pointer: Unmanaged.passUnretained(sink).toOpaque())
    }

    /// The value of the last response header called `name` (case-insensitive), if headers were captured.
    func responseHeader(_ name: String) -> String? {
        guard let sink = headerSink else { return nil }
        let wanted = name.lowercased() + ":"
        return String(decoding: sink.data, as: UTF8.self)
            .split(whereSeparator: \.isNewline)
            .last { $0.lowercased().hasPrefix(wanted) }
            .map { $0.dropFirst(wanted.count).trimmingCharacters(in: .whitespaces) }
    }

    func set(_ option: CURLoption, _ value: Int) throws {
        try check(tesp_curl_setopt_long(handle, option, value), "setting option \(option.rawValue)")
    }

    func set(_ option: CURLoption, _ value: String) throws {
        // libcurl copies string options, so the Swift string need not outlive the call.
        try check(tesp_curl_setopt_string(handle, option, value), "setting option \(option.rawValue)")
    }

    func set(_ option: CURLoption, offset value: Int64) throws {
        try check(tesp_curl_setopt_off_t(handle, option, curl_off_t(value)), "setting option \(option.rawValue)")
    }

    /// Aborts the transfer (CURLE_ABORTED_BY_CALLBACK) as soon as `abortSwitch` is thrown, even while nothing
    /// moves: a cancel or a shutdown need not wait for a stalled server.
    func abortWhen(_ abortSwitch: CurlAbortSwitch) throws {
        try check(tesp_curl_setopt_xferinfo(handle, curlCheckAbort), "setting the progress callback")
        try check(
            tesp_curl_setopt_pointer(handle, CURLOPT_XFERINFODATA, Unmanaged.passUnretained(abortSwitch).toOpaque()),
            "setting the progress callback's data"
        )
        try set(CURLOPT_NOPROGRESS, 0)
    }

    /// Refuses connections to `denied` networks (see ``DeniedNetworks``).
    func refuseConnections(to denied: DeniedNetworks) throws {
        let socketGuard = CurlSocketGuard(denied: denied)
        self.socketGuard = socketGuard
        try check(tesp_curl_setopt_opensocket(handle, curlOpenSocket), "setting the socket callback")
        try check(
            tesp_curl_setopt_pointer(handle, CURLOPT_OPENSOCKETDATA, Unmanaged.passUnretained(socketGuard).toOpaque()),
            "setting the socket callback's data"
        )
    }

    func set(_ option: CURLoption, callback: tesp_curl_data_callback) throws {
        try check(tesp_curl_setopt_callback(handle, option, callback), "setting a callback")
    }

    func set(_ option: CURLoption, pointer: UnsafeMutableRawPointer?) throws {
        try check(tesp_curl_setopt_pointer(handle, option, pointer), "setting option \(option.rawValue)")
    }

    /// Runs the transfer. - Returns: libcurl's result and its error text (empty when it succeeded).
    func perform() -> (CURLcode, String) {
        let code = errorBuffer.withUnsafeMutableBufferPointer { buffer -> CURLcode in
            _ = tesp_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, buffer.baseAddress)
            defer { _ = tesp_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, nil) }
            return curl_easy_perform(handle)
        }
        let text = errorBuffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return (code, text.isEmpty ? String(cString: curl_easy_strerror(code)) : text)
    }

    /// The size the server announced for the file (HTTP `Content-Length`, FTP `SIZE`), if it did.
    var contentLength: Int64? {
        var length: curl_off_t = -1
        guard tesp_curl_getinfo_off_t(handle, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK, length >= 0 else { return nil }
        return Int64(length)
    }

    /// The last response code (HTTP status, or the FTP server's last reply).
    var responseCode: Int {
        var code = 0
        _ = tesp_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &code)
        return code
    }

    private func check(_ code: CURLcode, _ what: String) throws {
        guard code == CURLE_OK else {
            throw TransferError(.failed, "libcurl failed \(what): \(String(cString: curl_easy_strerror(code)))")
        }
    }
}

/// libcurl's process-wide initialisation, done once.
enum CurlRuntime {
    private static let initialized: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    static func start() { _ = initialized }
}

/// Where a transfer's bytes go or come from, handed to libcurl's C callbacks as their user data.
final class CurlFileStream {
    let descriptor: Int32
    /// The most a download may write; 0: no limit.
    let maxBytes: Int64
    var bytes: Int64 = 0
    var failed = false
    /// The download was stopped because it passed `maxBytes`.
    var exceededLimit = false
    /// The most an upload reads from `descriptor` (one part of a multipart upload); 0: to the end of the file.
    let readLimit: Int64

    init(descriptor: Int32, maxBytes: Int64 = 0, readLimit: Int64 = 0) {
        self.descriptor = descriptor
        self.maxBytes = maxBytes
        self.readLimit = readLimit
    }
}

/// Collects a small response (a directory listing) in memory.
final class CurlMemorySink {
    var data = Data()
    let limit: Int

    init(limit: Int) { self.limit = limit }
}

let curlWriteToFile: tesp_curl_data_callback = { pointer, size, count, context in
    guard let pointer, let context else { return 0 }
    let stream = Unmanaged<CurlFileStream>.fromOpaque(context).takeUnretainedValue()
    let total = size * count
    if stream.maxBytes > 0, stream.bytes + Int64(total) > stream.maxBytes {
        stream.exceededLimit = true
        return 0  // CURLE_WRITE_ERROR
    }
    var written = 0
    while written < total {
        let result = write(stream.descriptor, pointer + written, total - written)
        if result < 0 {
            if errno == EINTR { continue }
            stream.failed = true
            return 0  // tells libcurl to stop: CURLE_WRITE_ERROR
        }
        written += result
    }
    stream.bytes += Int64(total)
    return total
}

let curlReadFromFile: tesp_curl_data_callback = { pointer, size, count, context in
    guard let pointer, let context else { return tesp_curl_readfunc_abort() }
    let stream = Unmanaged<CurlFileStream>.fromOpaque(context).takeUnretainedValue()
    var wanted = size * count
    if stream.readLimit > 0 { wanted = min(wanted, Int(max(0, stream.readLimit - stream.bytes))) }
    if wanted == 0 { return 0 }
    while true {
        let result = read(stream.descriptor, pointer, wanted)
        if result < 0 {
            if errno == EINTR { continue }
            stream.failed = true
            return tesp_curl_readfunc_abort()
        }
        stream.bytes += Int64(result)
        return result
    }
}

let curlWriteToMemory: tesp_curl_data_callback = { pointer, size, count, context in
    guard let pointer, let context else { return 0 }
    let sink = Unmanaged<CurlMemorySink>.fromOpaque(context).takeUnretainedValue()
    let total = size * count
    guard sink.data.count + total <= sink.limit else { return 0 }
    sink.data.append(UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: total)
    return total
}

/// Opens a local file (or a pipe, whose `size` the caller knows) an upload reads. - Returns: its descriptor (the
/// caller closes it) and size.
func openForUpload(_ path: String, size knownSize: Int64? = nil) throws -> (descriptor: Int32, size: Int64) {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else {
        throw TransferError(.failed, "cannot read \(path): \(String(cString: strerror(errno)))")
    }
    if let knownSize { return (descriptor, knownSize) }
    var info = stat()
    fstat(descriptor, &info)
    return (descriptor, Int64(info.st_size))
}

extension NIOThreadPool {
    /// Runs `body` (blocking libcurl work) on one of the pool's threads; cancelling the calling task throws the
    /// switch, which aborts the transfer within a second (libcurl's progress callback) and makes it end with
    /// `CancellationError`.
    func runCancellable<T: Sendable>(_ body: @escaping @Sendable (CurlAbortSwitch) throws -> T) async throws -> T {
        let abortSwitch = CurlAbortSwitch()
        return try await withTaskCancellationHandler {
            try await runIfActive { try body(abortSwitch) }
        } onCancel: {
            abortSwitch.abort()
        }
    }
}

/// Thrown from any thread (the cancelling task's) and read by libcurl's progress callback on the transfer thread.
final class CurlAbortSwitch: @unchecked Sendable {
    private let lock = NSLock()
    private var thrown = false

    func abort() { lock.withLock { thrown = true } }
    var isAborted: Bool { lock.withLock { thrown } }
}

let curlCheckAbort: tesp_curl_xferinfo_callback = { context, _, _, _, _ in
    guard let context else { return 0 }
    return Unmanaged<CurlAbortSwitch>.fromOpaque(context).takeUnretainedValue().isAborted ? 1 : 0
}
