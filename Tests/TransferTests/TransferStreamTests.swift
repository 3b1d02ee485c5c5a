import Foundation
import NIOCore
import TES
import Testing

@testable import Transfer

/// ``Transfers/stream(_:secret:to:)``: a file's bytes reach the receiver through a pipe, in order and whole, and a
/// receiver that fails stops the download.
@Suite struct TransferStreamTests {
    /// Collects what the stream hands on (a class: the receiver closure is `@Sendable`).
    final class Received: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data()
        private var chunks = 0
        func add(_ buffer: ByteBuffer) { lock.withLock { data.append(contentsOf: buffer.readableBytesView); chunks += 1 } }
        var bytes: Data { lock.withLock { data } }
        var count: Int { lock.withLock { chunks } }
    }

    private func sourceFile(bytes: Int) throws -> (directory: String, path: String, data: Data) {
        let directory = NSTemporaryDirectory() + "tesp-stream-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var generator = SystemRandomNumberGenerator()
        let data = Data((0..<bytes).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let path = directory + "/source.bin"
        try data.write(to: URL(fileURLWithPath: path))
        return (directory, path, data)
    }

    @Test func aFileArrivesWholeInManyChunksWithoutACopyOnDisk() async throws {
        let (directory, path, data) = try sourceFile(bytes: 3 * 1024 * 1024 + 17)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let transfers = Transfers(.init(maxConcurrent: 1, allowedFileDirectories: [directory]), logger: .init(label: "t"))
        let received = Received()
        let bytes = try await transfers.stream(try #require(StorageURL("file://" + path)), secret: nil) { received.add($0) }
        #expect(bytes == Int64(data.count))
        #expect(received.bytes == data)
        // A pipe holds 64 KiB: the file came in pieces, never all at once.
        #expect(received.count > 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["source.bin"])
        try await transfers.shutdown()
    }

    struct ReceiverGone: Error {}

    @Test func aReceiverThatFailsStopsTheDownloadAndItsErrorIsThrown() async throws {
        let (directory, path, _) = try sourceFile(bytes: 8 * 1024 * 1024)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // One transfer thread: if the failed stream left its download blocked on a full pipe, the next would wait forever.
        let transfers = Transfers(.init(maxConcurrent: 1, allowedFileDirectories: [directory]), logger: .init(label: "t"))
        let url = try #require(StorageURL("file://" + path))
        let received = Received()
        await #expect(throws: ReceiverGone.self) {
            _ = try await transfers.stream(url, secret: nil) { buffer in
                received.add(buffer)
                if received.count == 2 { throw ReceiverGone() }
            }
        }
        #expect(received.count == 2)
        let again = Received()
        #expect(try await transfers.stream(url, secret: nil) { again.add($0) } == 8 * 1024 * 1024)
        try await transfers.shutdown()
    }

    @Test func aSourceThatCannotBeReadIsTheStorageError() async throws {
        let (directory, _, _) = try sourceFile(bytes: 1)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let transfers = Transfers(.init(maxConcurrent: 1, allowedFileDirectories: [directory]), logger: .init(label: "t"))
        let received = Received()
        let error = await #expect(throws: TransferError.self) {
            _ = try await transfers.stream(try #require(StorageURL("file://\(directory)/missing")), secret: nil) { received.add($0) }
        }
        #expect(error?.code == .notFound)
        #expect(received.count == 0)
        try await transfers.shutdown()
    }
}
