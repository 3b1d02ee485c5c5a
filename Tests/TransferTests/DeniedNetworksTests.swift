import Foundation
import NIOPosix
import TES
import Testing

@testable import Transfer

@Suite struct DeniedNetworksTests {
    @Test func networksMatchByPrefixAndMappedAddresses() throws {
        let denied = try DeniedNetworks(cidrs: ["169.254.0.0/16", "127.0.0.0/8", "fd00:ec2::254/128"])
        #expect(denied.denies([169, 254, 169, 254]))
        #expect(denied.denies([127, 3, 2, 1]))
        #expect(!denied.denies([10, 0, 0, 1]))
        // ::ffff:169.254.169.254 is the metadata address too.
        #expect(denied.denies([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 169, 254, 169, 254]))
        #expect(denied.denies([0xFD, 0, 0x0E, 0xC2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54]))
        #expect(!denied.denies([0xFD, 0, 0x0E, 0xC2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x55]))
        #expect(throws: TransferError.self) { try DeniedNetworks(cidrs: ["localhost"]) }
        #expect(throws: TransferError.self) { try DeniedNetworks(cidrs: ["10.0.0.0/33"]) }
        #expect(DeniedNetworks.linkLocal.denies([169, 254, 169, 254]))
    }

    @Test func aTransferToADeniedAddressIsRefusedBeforeConnecting() async throws {
        let threads = NIOThreadPool(numberOfThreads: 1)
        threads.start()
        let denyLoopback = try DeniedNetworks(cidrs: ["127.0.0.0/8"])
        let storage = CurlStorage(threads: threads, limits: TransferLimits(deniedNetworks: denyLoopback))
        let target = FileManager.default.temporaryDirectory.appendingPathComponent("tesp-denied-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: target) }
        // "localhost" resolves to a denied address: names do not get around the list.
        for text in ["http://127.0.0.1:9/x", "http://localhost:9/x", "ftp://127.0.0.1:9/x"] {
            do {
                _ = try await storage.download(try #require(StorageURL(text)), to: target, credentials: nil)
                Issue.record("\(text) was fetched")
            } catch let error as TransferError {
                #expect(error.code == .denied && error.description.contains("transfer.denied_networks"), "\(error)")
            }
        }
        // Without the list the same transfer is merely refused by the (absent) server.
        let open = CurlStorage(threads: threads, limits: TransferLimits(deniedNetworks: try DeniedNetworks(cidrs: [])))
        do {
            _ = try await open.download(try #require(StorageURL("http://127.0.0.1:9/x")), to: target, credentials: nil)
        } catch let error as TransferError {
            #expect(error.code == .transient, "\(error)")
        }
        try await threads.shutdownGracefully()
    }
}

@Suite struct TransferAbortTests {
    /// A server that accepts, sends the start of an answer and then nothing: a stalled transfer.
    final class StalledServer: @unchecked Sendable {
        let descriptor: Int32
        let port: UInt16

        init() throws {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0, listen(fd, 4) == 0 else { throw POSIXError(.EADDRINUSE) }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            descriptor = fd
            port = UInt16(bigEndian: address.sin_port)
            Thread.detachNewThread { [fd] in
                let client = accept(fd, nil, nil)
                guard client >= 0 else { return }
                let head = "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\nabc"
                _ = head.withCString { write(client, $0, strlen($0)) }
                // Hold the connection open without sending more.
                sleep(600)
                close(client)
            }
        }
    }

    @Test func cancellingTheTaskAbortsAStalledTransfer() async throws {
        let server = try StalledServer()
        defer { close(server.descriptor) }
        let threads = NIOThreadPool(numberOfThreads: 1)
        threads.start()
        // Without the abort this transfer would hang for 10 minutes (the low-speed limit).
        let storage = CurlStorage(
            threads: threads,
            limits: TransferLimits(lowSpeedSeconds: 600, deniedNetworks: try DeniedNetworks(cidrs: []))
        )
        let target = FileManager.default.temporaryDirectory.appendingPathComponent("tesp-stall-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: target) }
        let url = try #require(StorageURL("http://127.0.0.1:\(server.port)/big"))
        let transfer = Task { try await storage.download(url, to: target, credentials: nil) }
        // Wait until bytes arrived, so the transfer is really under way.
        while (try? FileManager.default.attributesOfItem(atPath: target)[.size] as? Int) ?? 0 < 3 {
            try await Task.sleep(for: .milliseconds(20))
        }
        let cancelled = ContinuousClock.now
        transfer.cancel()
        await #expect(throws: CancellationError.self) { _ = try await transfer.value }
        // Bounded far below the 10 minutes it would otherwise take (the callback runs about once a second).
        #expect(ContinuousClock.now - cancelled < .seconds(60))
        try await threads.shutdownGracefully()
    }
}

/// What settings.toml's `[transfer]` limits promise, each on a real transfer.
@Suite struct TransferLimitTests {
    static func download(_ limits: TransferLimits, from server: TransferAbortTests.StalledServer) async throws -> TransferError? {
        let threads = NIOThreadPool(numberOfThreads: 1)
        threads.start()
        defer { Task { try? await threads.shutdownGracefully() } }
        let storage = CurlStorage(threads: threads, limits: limits)
        let target = FileManager.default.temporaryDirectory.appendingPathComponent("tesp-limit-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: target) }
        do {
            _ = try await storage.download(try #require(StorageURL("http://127.0.0.1:\(server.port)/x")), to: target, credentials: nil)
            return nil
        } catch let error as TransferError {
            return error
        }
    }

    @Test func aDownloadLargerThanMaxFileBytesFailsNamingTheSetting() async throws {
        let server = try TransferAbortTests.StalledServer()
        defer { close(server.descriptor) }
        let limits = TransferLimits(maxFileBytes: 2, deniedNetworks: try DeniedNetworks(cidrs: []))
        let error = try #require(try await Self.download(limits, from: server))
        #expect(error.description.contains("transfer.max_file_bytes"), "\(error)")
    }

    @Test func aStalledDownloadEndsAtTheLowSpeedLimitAsATransientFailure() async throws {
        let server = try TransferAbortTests.StalledServer()
        defer { close(server.descriptor) }
        let limits = TransferLimits(lowSpeedBytesPerSecond: 1024, lowSpeedSeconds: 1, deniedNetworks: try DeniedNetworks(cidrs: []))
        let error = try #require(try await Self.download(limits, from: server))
        #expect(error.code == .transient, "\(error)")
    }

    @Test func aDownloadLongerThanMaxSecondsPerFileEnds() async throws {
        let server = try TransferAbortTests.StalledServer()
        defer { close(server.descriptor) }
        let limits = TransferLimits(lowSpeedSeconds: 600, maxSecondsPerFile: 1, deniedNetworks: try DeniedNetworks(cidrs: []))
        let error = try #require(try await Self.download(limits, from: server))
        #expect(error.description.lowercased().contains("timeout") || error.description.contains("timed out"), "\(error)")
    }

    @Test func localListingsAndFilesKeepToTheirLimits() async throws {
        let threads = NIOThreadPool(numberOfThreads: 1)
        threads.start()
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("tesp-limits-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: base) }
        try FileManager.default.createDirectory(at: base.appendingPathComponent("a/b/c"), withIntermediateDirectories: true)
        for name in ["1", "2", "3"] { try "x\(name)\n".write(to: base.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        let url = StorageURL(scheme: "file", host: "", path: base.path)
        func storage(_ limits: TransferLimits) -> LocalFileStorage {
            LocalFileStorage(allowedDirectories: [base.path], threads: threads, limits: limits)
        }
        await #expect(throws: TransferError.self) { _ = try await storage(TransferLimits(maxListingEntries: 3)).listFiles(under: url, credentials: nil) }
        await #expect(throws: TransferError.self) { _ = try await storage(TransferLimits(maxListingDepth: 2)).listFiles(under: url, credentials: nil) }
        #expect(try await storage(TransferLimits(maxListingEntries: 6, maxListingDepth: 3)).listFiles(under: url, credentials: nil).count == 3)
        let file = StorageURL(scheme: "file", host: "", path: base.path + "/1")
        let local = base.appendingPathComponent("copy").path
        await #expect(throws: TransferError.self) { _ = try await storage(TransferLimits(maxFileBytes: 2)).download(file, to: local, credentials: nil) }
        #expect(try await storage(TransferLimits(maxFileBytes: 3)).download(file, to: local, credentials: nil) == 3)
        try await threads.shutdownGracefully()
    }
}
