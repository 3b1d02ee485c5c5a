import Engine
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
@testable import Server
import TES
import TaskStore
import Testing
import Transfer

/// `GET /staging/v1/tasks/{id}/inputs/{index}`: an input served to a backend, streamed from its source, for a valid
/// signature on an unfinished task only.
@Suite struct ServedInputRoutesTests {
    let directory = NSTemporaryDirectory() + "tesp-served-\(UUID().uuidString)"
    let urls = ServedInputURLs(baseURL: "http://tesp.example:8000/", key: Array("k".utf8), lifetimeSeconds: 600)

    /// A task whose input 0 is a file of `bytes` random bytes, input 1 a directory and input 2 a missing file.
    private func prepare(bytes: Int, state: TESState = .initializing) async throws -> (InMemoryTaskStore, Data) {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var generator = SystemRandomNumberGenerator()
        let data = Data((0..<bytes).map { _ in UInt8.random(in: 0...255, using: &generator) })
        try data.write(to: URL(fileURLWithPath: directory + "/in.bin"))
        let store = InMemoryTaskStore()
        var task = TESTask(
            id: "task-1",
            inputs: [
                TESInput(url: "file://\(directory)/in.bin", path: "/data/in.bin"),
                TESInput(url: "file://\(directory)", path: "/data/dir", type: .directory),
                TESInput(url: "file://\(directory)/missing.bin", path: "/data/missing.bin"),
            ],
            executors: [TESExecutor(image: "alpine", command: ["true"])]
        )
        task.state = state
        try await store.create(task)
        return (store, data)
    }

    private func configuration(_ transfers: Transfers) -> ServerConfiguration {
        var configuration = testConfiguration
        configuration.servedInputs = (urls, transfers)
        return configuration
    }

    /// The path and query of a signed URL (the test client takes no host).
    private func path(_ url: String) -> String {
        String(url.dropFirst("http://tesp.example:8000".count))
    }

    @Test func aSignedURLServesTheInputWithItsLength() async throws {
        let (store, data) = try await prepare(bytes: 1024 * 1024 + 3)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let transfers = Transfers(.init(maxConcurrent: 2, allowedFileDirectories: [directory]), logger: .init(label: "t"))
        let url = urls.url(taskID: "task-1", input: 0, now: Date())
        #expect(url.hasPrefix("http://tesp.example:8000/staging/v1/tasks/task-1/inputs/0?expires="))
        try await withApp(store: store, configuration: configuration(transfers)) { client in
            let response = try await client.get(path(url))
            #expect(response.status == .ok)
            #expect(response.headers[.contentLength] == "\(data.count)")
            #expect(Data(buffer: response.body) == data)
        }
        try await transfers.shutdown()
    }

    @Test func aURLSignedByAnotherReplicaWithTheSameKeyIsServed() async throws {
        let (store, data) = try await prepare(bytes: 100)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let transfers = Transfers(.init(maxConcurrent: 2, allowedFileDirectories: [directory]), logger: .init(label: "t"))
        // Another process: its own instance, same key (server.staging_key), nothing shared in memory.
        let replica = ServedInputURLs(baseURL: "http://tesp.example:8000", key: Array("k".utf8), lifetimeSeconds: 60)
        try await withApp(store: store, configuration: configuration(transfers)) { client in
            let response = try await client.get(path(replica.url(taskID: "task-1", input: 0, now: Date())))
            #expect(response.status == .ok && Data(buffer: response.body) == data)
        }
        try await transfers.shutdown()
    }

    @Test func aWrongExpiredOrMovedSignatureIs403() async throws {
        let (store, _) = try await prepare(bytes: 10)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let transfers = Transfers(.init(maxConcurrent: 2, allowedFileDirectories: [directory]), logger: .init(label: "t"))
        let good = path(urls.url(taskID: "task-1", input: 0, now: Date()))
        let signature = String(good.split(separator: "signature=").last!)
        let expires = Int(Date().timeIntervalSince1970) + 600
        let expired = path(urls.url(taskID: "task-1", input: 0, now: Date(timeIntervalSinceNow: -601)))
        let otherKey = ServedInputURLs(baseURL: "http://tesp.example:8000", key: Array("other".utf8), lifetimeSeconds: 600)
        try await withApp(store: store, configuration: configuration(transfers)) { client in
            for uri in [
                expired,
                path(otherKey.url(taskID: "task-1", input: 0, now: Date())),
                // The signature of input 0 does not open input 2, nor a later expiry.
                "/staging/v1/tasks/task-1/inputs/2?expires=\(expires)&signature=\(signature)",
                "/staging/v1/tasks/task-1/inputs/0?expires=\(expires + 3600)&signature=\(signature)",
                "/staging/v1/tasks/task-1/inputs/0?expires=\(expires)",
                "/staging/v1/tasks/task-1/inputs/0",
            ] {
                expectError(try await client.get(uri), .forbidden, mentioning: "not valid")
            }
        }
        try await transfers.shutdown()
    }

    @Test func aFinishedTasksInputsAreGone() async throws {
        let (store, _) = try await prepare(bytes: 10, state: .complete)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let transfers = Transfers(.init(maxConcurrent: 2, allowedFileDirectories: [directory]), logger: .init(label: "t"))
        try await withApp(store: store, configuration: configuration(transfers)) { client in
            expectError(try await client.get(path(urls.url(taskID: "task-1", input: 0, now: Date()))), .gone, mentioning: "COMPLETE")
        }
        try await transfers.shutdown()
    }

    @Test func aDirectoryOrAMissingFileIsNotServed() async throws {
        let (store, _) = try await prepare(bytes: 10)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let transfers = Transfers(.init(maxConcurrent: 2, allowedFileDirectories: [directory]), logger: .init(label: "t"))
        try await withApp(store: store, configuration: configuration(transfers)) { client in
            expectError(try await client.get(path(urls.url(taskID: "task-1", input: 1, now: Date()))), .notFound, mentioning: "no FILE input 1")
            expectError(try await client.get(path(urls.url(taskID: "task-1", input: 7, now: Date()))), .notFound, mentioning: "no FILE input 7")
            expectError(try await client.get(path(urls.url(taskID: "task-1", input: 2, now: Date()))), .notFound, mentioning: "inputs[2]: ")
            // Signed for a task that does not exist: as for any unknown task.
            #expect(try await client.get(path(urls.url(taskID: "task-9", input: 0, now: Date()))).status == .notFound)
        }
        try await transfers.shutdown()
    }

    @Test func withoutAPublicURLThereIsNoSuchRoute() async throws {
        try await withApp { client in
            let response = try await client.get("/staging/v1/tasks/task-1/inputs/0?expires=1&signature=0")
            #expect(response.status == .notFound)
        }
    }
}

@Suite struct RequestLogTests {
    @Test func credentialsInTheQueryAreNotLogged() {
        #expect(RequestLogMiddleware<TESRequestContext>.target(path: "/staging/v1/tasks/t/inputs/0", query: "expires=9&signature=ab12")
            == "/staging/v1/tasks/t/inputs/0?expires=9&signature=***")
        #expect(RequestLogMiddleware<TESRequestContext>.target(path: "/ga4gh/tes/v1/tasks", query: "view=FULL&access_token=x") == "/ga4gh/tes/v1/tasks?view=FULL&access_token=***")
        #expect(RequestLogMiddleware<TESRequestContext>.target(path: "/healthz", query: nil) == "/healthz")
    }
}
