import Client
import Foundation
import Transfer
import Logging
import Synchronization
import TES
import Testing

@testable import Engine

/// A remote TES server in memory.
final class FakeRemoteTES: RemoteTES {
    private let tasks = Mutex<[String: TESTask]>([:])

    func create(_ task: TESTask) async throws -> String {
        tasks.withLock { tasks in
            let id = "remote-\(tasks.count + 1)"
            var stored = task
            stored.id = id
            stored.state = .queued
            tasks[id] = stored
            return id
        }
    }
    func get(id: String, view: TESView) async throws -> TESTask {
        guard let task = tasks.withLock({ $0[id] }) else { throw Client.TESClientError(status: 404, message: "no task") }
        return task
    }
    func ids(taggedWith key: String, _ value: String) async throws -> [String] {
        tasks.withLock { $0.values.filter { $0.tags?[key] == value }.compactMap(\.id) }
    }
    func cancel(id: String) async throws { tasks.withLock { $0[id]?.state = .canceled } }
    func serviceInfo() async throws -> TESServiceInfo {
        TESServiceInfo(id: "x", name: "remote", organization: .init(name: "x", url: "https://x"), version: "1", storage: [], backendParameters: [])
    }
    var count: Int { tasks.withLock { $0.count } }
    func all() -> [TESTask] { tasks.withLock { Array($0.values) } }
}

@Suite struct TESGatewayBackendTests {
    let logger = Logger(label: "test")

    @Test func aRepeatedSubmitFindsTheRemoteTaskInsteadOfCreatingASecond() async throws {
        let remote = FakeRemoteTES()
        let backend = TESGatewayBackend(name: "r", remote: remote, retry: RetryPolicy(grace: .seconds(1)), clock: TestClock())
        let job = BackendJob(task: TESTask(id: "t1", executors: [TESExecutor(image: "alpine", command: ["true"])]))
        let first = try await backend.submit(job, logger: logger)
        // A crash before the remote id was stored: the next submit has no metadata.
        let again = try await backend.submit(job, logger: logger)
        #expect(first == again && first[TESGatewayBackend.remoteIDKey] == "remote-1")
        #expect(remote.count == 1)
        var known = job
        known.metadata = first
        #expect(try await backend.state(of: known, logger: logger) == .queued)
    }

    @Test func theRemoteGetsTheCredentialsBackAndNoneOfOurState() async throws {
        let stored = TESTask(
            id: "t2",
            state: .initializing,
            inputs: [TESInput(url: "ftp://alice:s3cret@ftp.example.org/in", path: "/data/in")],
            outputs: [TESOutput(url: "https://s3.example.org/b/out?X-Amz-Signature=abc&X-Amz-Date=1", path: "/data/out")],
            executors: [TESExecutor(image: "alpine", command: ["true"])]
        )
        let (task, secrets) = TaskCredentials.extract(from: stored)
        #expect(task.inputs?.first?.url == "ftp://alice@ftp.example.org/in")
        let remote = TESGatewayBackend.remoteTask(for: BackendJob(task: task, secrets: secrets))
        #expect(remote.inputs?.first?.url == "ftp://alice:s3cret@ftp.example.org/in")
        #expect(remote.outputs?.first?.url == "https://s3.example.org/b/out?X-Amz-Signature=abc&X-Amz-Date=1")
        #expect(remote.id == nil && remote.state == nil && remote.tags == ["tesp_task_id": "t2"])
    }
}
