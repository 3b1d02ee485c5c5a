import Foundation
import Logging
import TES
import TaskStore
import Testing

/// The stores the contract suite runs on: always the in-memory one, and MongoDB when the test script started one
/// (`TESP_TEST_MONGODB_URI`). Under CI a missing server is a failure, not a skip.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case memory
    case mongo

    static var mongoURI: String? { ProcessInfo.processInfo.environment["TESP_TEST_MONGODB_URI"] }

    static var available: [StoreKind] {
        if mongoURI != nil || ProcessInfo.processInfo.environment["CI"] == "true" { return allCases }
        return [.memory]
    }

    var testDescription: String { rawValue }
}

/// Runs `body` with an empty store of `kind` (a fresh collection for MongoDB, dropped with the database name).
func withStore(_ kind: StoreKind, _ body: (any TaskStore) async throws -> Void) async throws {
    switch kind {
    case .memory:
        try await body(InMemoryTaskStore())
    case .mongo:
        let uri = try #require(StoreKind.mongoURI, "TESP_TEST_MONGODB_URI is not set: scripts/test starts MongoDB")
        let store = try MongoTaskStore(
            .init(uri: uri, database: "tesp_contract", collection: "tasks_\(UUID().uuidString.prefix(8))", poolSize: 4),
            logger: Logger(label: "test")
        )
        do {
            try await store.ensureIndexes()
            try await body(store)
        } catch {
            try await store.close()
            throw error
        }
        try await store.close()
    }
}

/// Task ids in creation order, as the server makes them.
struct IDMaker {
    var generator = TESTaskIDGenerator()
    var clock: UInt64 = 1_700_000_000_000

    mutating func next() -> String {
        clock += 1
        return generator.next(milliseconds: clock) { (UInt16.random(in: 0...UInt16.max), UInt64.random(in: 0...UInt64.max)) }
    }
}

func storedTask(id: String, name: String? = nil, state: TESState = .queued, tags: [String: String]? = nil) -> TESTask {
    TESTask(
        id: id,
        state: state,
        name: name,
        inputs: [TESInput(url: "ftp://h/in", path: "/data/in"), TESInput(path: "/data/c", content: "inline text")],
        outputs: [TESOutput(url: "ftp://h/out", path: "/data/out")],
        resources: TESResources(cpuCores: 2, ramGb: 1.5),
        executors: [TESExecutor(image: "alpine", command: ["sh", "-c", "echo \"$X\" > /data/out"], env: ["X": "1"])],
        volumes: ["/vol"],
        tags: tags,
        logs: [],
        creationTime: Date(timeIntervalSince1970: 1_700_000_000.123)
    )
}
