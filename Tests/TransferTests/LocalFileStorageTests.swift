import Foundation
import NIOPosix
import TES
import Testing

@testable import Transfer

/// `file://` containment on the real file system: links inside an allowed directory must not lead out of it.
@Suite struct LocalFileStorageTests {
    struct Fixture {
        let base: URL
        let allowed: URL
        let outside: URL
        let threads: NIOThreadPool
        var storage: LocalFileStorage { LocalFileStorage(allowedDirectories: [allowed.path], threads: threads) }

        init() throws {
            base = FileManager.default.temporaryDirectory.appendingPathComponent("tesp-files-\(UUID().uuidString)")
            allowed = base.appendingPathComponent("allowed")
            outside = base.appendingPathComponent("outside")
            try FileManager.default.createDirectory(at: allowed, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
            try "secret\n".write(to: outside.appendingPathComponent("secret"), atomically: true, encoding: .utf8)
            try "fine\n".write(to: allowed.appendingPathComponent("fine"), atomically: true, encoding: .utf8)
            try FileManager.default.createSymbolicLink(
                atPath: allowed.appendingPathComponent("link").path,
                withDestinationPath: outside.appendingPathComponent("secret").path
            )
            try FileManager.default.createSymbolicLink(atPath: allowed.appendingPathComponent("up").path, withDestinationPath: outside.path)
            threads = NIOThreadPool(numberOfThreads: 1)
            threads.start()
        }

        func tearDown() async throws {
            try await threads.shutdownGracefully()
            try? FileManager.default.removeItem(at: base)
        }
    }

    @Test func linksOutOfTheAllowedDirectoryAreDeniedForReadingAndWriting() async throws {
        let fixture = try Fixture()
        let storage = fixture.storage
        let local = fixture.base.appendingPathComponent("copy").path
        for path in ["link", "up/secret"] {
            let url = StorageURL(scheme: "file", host: "", path: fixture.allowed.path + "/" + path)
            await #expect(throws: TransferError.self) { _ = try await storage.download(url, to: local, credentials: nil) }
            await #expect(throws: TransferError.self) {
                _ = try await storage.upload(fixture.allowed.appendingPathComponent("fine").path, to: url, credentials: nil)
            }
        }
        #expect(try String(contentsOf: fixture.outside.appendingPathComponent("secret"), encoding: .utf8) == "secret\n")
        let fine = StorageURL(scheme: "file", host: "", path: fixture.allowed.path + "/fine")
        #expect(try await storage.download(fine, to: local, credentials: nil) == 5)
        try await fixture.tearDown()
    }

    @Test func sizesAreReadWithoutCopyingAndOnlyInsideTheAllowedDirectories() async throws {
        let fixture = try Fixture()
        let storage = fixture.storage
        #expect(try await storage.size(of: StorageURL(scheme: "file", host: "", path: fixture.allowed.path + "/fine"), credentials: nil) == 5)
        await #expect(throws: TransferError.self) {
            _ = try await storage.size(of: StorageURL(scheme: "file", host: "", path: fixture.allowed.path + "/link"), credentials: nil)
        }
        try await fixture.tearDown()
    }

    @Test func listingsDoNotFollowLinks() async throws {
        let fixture = try Fixture()
        let url = StorageURL(scheme: "file", host: "", path: fixture.allowed.path)
        let files = try await fixture.storage.listFiles(under: url, credentials: nil)
        #expect(files.map(\.relativePath) == ["fine"])
        try await fixture.tearDown()
    }

    @Test func resolvingEndsForAnyPath() {
        // The poison URL of the review: its path decodes to nothing usable; resolving must end, not loop.
        for path in ["", "x", "/", "/nonexistent/a/b/c", "/../x", "/a//b", "/\u{301}"] {
            _ = LocalFileStorage.resolve(path)
        }
        #expect(LocalFileStorage.resolve("/nonexistent-tesp/a/b") == "/nonexistent-tesp/a/b")
        #expect(LocalFileStorage.resolve("relative") == nil)
    }
}
