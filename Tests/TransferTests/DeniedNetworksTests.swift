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
