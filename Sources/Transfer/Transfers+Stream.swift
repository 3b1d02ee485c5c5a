import Foundation
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
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else {
            throw TransferError(.failed, "cannot make a pipe for \(url): \(String(cString: strerror(errno)))")
        }
        let (readEnd, writeEnd) = (ends[0], ends[1])
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
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
