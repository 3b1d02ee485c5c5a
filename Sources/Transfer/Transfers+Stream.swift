import Foundation
import Logging
import NIOCore
import NIOPosix
import TES

extension Transfers {
    /// Hands the file at `url` to `write` in chunks as it arrives, without a copy on disk: the storage downloads
    /// into a pipe on a transfer thread (the pipe's path, `/proc/self/fd/N`, opens as a file does, so every kind
    /// of storage can), and SwiftNIO reads the other end without blocking a thread. A slow receiver slows the
    /// download (the pipe fills and the transfer thread waits) instead of filling memory. TESP serves an input
    /// to a backend this way when the backend may not have the input's credentials.
    ///
    /// One attempt, no retries: bytes already handed on cannot be taken back, so the receiver retries.
    /// - Returns: the number of bytes.
    public func stream(
        _ url: StorageURL,
        secret: String?,
        to write: (ByteBuffer) async throws -> Void
    ) async throws -> Int64 {
        let storage = try self.storage.reader(for: url)
        let credential = credential(for: url, secret: secret)
        let (readEnd, writeEnd) = try Self.makePipe(for: url)
        let pipe: NIOAsyncChannel<ByteBuffer, Never>
        do {
            pipe = try await NIOPipeBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .takingOwnershipOfDescriptor(input: readEnd) { channel in
                    channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, Never>(wrappingChannelSynchronously: channel) }
                }
        } catch {
            close(writeEnd)
            throw TransferError(.failed, "cannot read a pipe for \(url): \(error)")
        }
        let download = Task {
            // The reader sees the end of the file once this end and the storage's own are closed.
            defer { close(writeEnd) }
            return try await storage.download(url, to: "/proc/self/fd/\(writeEnd)", credentials: credential)
        }
        do {
            try await withTaskCancellationHandler {
                try await pipe.executeThenClose { inbound, _ in
                    for try await chunk in inbound { try await write(chunk) }
                }
            } onCancel: {
                download.cancel()
            }
        } catch {
            // The read end is closed: the download's next write fails (SwiftNIO ignores SIGPIPE), or the abort
            // switch stops it first.
            download.cancel()
            _ = try? await download.value
            throw error
        }
        let bytes = try await download.value
        Self.countBytes(bytes, direction: "in", url: url)
        return bytes
    }
}

extension Transfers {
    /// Writes `size` bytes that `produce` hands to its `write` argument to `url`, without a copy on disk: the
    /// reverse of ``stream(_:secret:to:)``. SwiftNIO writes the chunks into a pipe that the storage uploads from
    /// on a transfer thread; a slow upload slows `produce`.
    ///
    /// A transient failure runs `produce` again from the start (it must be able to: TESP sends an output this way
    /// while the job's copy on the backend still exists), as often as ``Configuration/retries`` allows.
    /// - Returns: the number of bytes.
    public func upload(
        size: Int64,
        to url: StorageURL,
        secret: String?,
        logger: Logger? = nil,
        from produce: @escaping @Sendable (_ write: @Sendable (ByteBuffer) async throws -> Void) async throws -> Void
    ) async throws -> Int64 {
        let storage = try self.storage.writer(for: url)
        let credential = credential(for: url, secret: secret)
        let bytes = try await retrying("upload", url, logger: logger) {
            try await Self.pipeUpload(size: size, to: url) { pipePath in
                try await storage.upload(pipe: pipePath, size: size, to: url, credentials: credential)
            } produce: { write in
                try await produce(write)
            }
        }
        Self.countBytes(bytes, direction: "out", url: url)
        return bytes
    }

    private static func pipeUpload(
        size: Int64,
        to url: StorageURL,
        consume: @escaping @Sendable (_ pipePath: String) async throws -> Int64,
        produce: (_ write: @Sendable (ByteBuffer) async throws -> Void) async throws -> Void
    ) async throws -> Int64 {
        let (readEnd, writeEnd) = try Self.makePipe(for: url)
        let pipe: any Channel
        do {
            pipe = try await NIOPipeBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .takingOwnershipOfDescriptor(output: writeEnd) { channel in channel.eventLoop.makeSucceededFuture(channel) }
        } catch {
            close(readEnd)
            throw TransferError(.failed, "cannot write a pipe for \(url): \(error)")
        }
        let upload = Task {
            // Closing the read end makes the producer's next write fail, should the upload stop early.
            defer { close(readEnd) }
            return try await consume("/proc/self/fd/\(readEnd)")
        }
        do {
            try await withTaskCancellationHandler {
                // Each write waits until its bytes are in the pipe (one chunk in flight: the back-pressure), so
                // closing the write end afterwards loses nothing; the close is the end of the file for the upload.
                try await produce { chunk in
                    do { try await pipe.writeAndFlush(chunk).get() } catch { throw PipeClosed() }
                }
                try await pipe.close().get()
            } onCancel: {
                upload.cancel()
            }
        } catch is PipeClosed {
            try? await pipe.close().get()
            // The upload stopped reading: its own failure says why.
            if case .failure(let uploadError) = await upload.result { throw uploadError }
            throw TransferError(.failed, "upload of \(url) stopped reading before the end")
        } catch {
            // The producer failed (the source broke off): the upload's complaint about a short file would hide it.
            try? await pipe.close().get()
            upload.cancel()
            _ = await upload.result
            throw error
        }
        return try await upload.value
    }

    /// A write into the pipe failed: the upload closed its end.
    private struct PipeClosed: Error {}
}

extension Transfers {
    /// A pipe for moving `url`'s bytes, both ends closed on exec (a child process must not hold one open).
    fileprivate static func makePipe(for url: StorageURL) throws -> (read: Int32, write: Int32) {
        var ends: [Int32] = [0, 0]
        // pipe2(O_CLOEXEC) is not in Swift's Glibc module; TESP starts no processes, so the gap before fcntl is harmless.
        guard pipe(&ends) == 0 else {
            throw TransferError(.failed, "cannot make a pipe for \(url): \(String(cString: strerror(errno)))")
        }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        return (ends[0], ends[1])
    }
}
