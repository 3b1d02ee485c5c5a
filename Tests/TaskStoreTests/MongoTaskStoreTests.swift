import Foundation
import Logging
import TES
import Testing

@testable import TaskStore

@Suite struct MongoTaskStoreTests {
    @Test func anUnreachableStoreIsUnavailableQuickly() async throws {
        // Port 9 (discard) has no MongoDB; the URI's server selection timeout bounds the wait.
        let store = try MongoTaskStore(
            .init(uri: "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=300&connectTimeoutMS=300", database: "d", collection: "c"),
            logger: Logger(label: "test")
        )
        let start = ContinuousClock.now
        do {
            _ = try await store.get(id: "x", view: .minimal)
            Issue.record("a store with no server answered")
        } catch let error as TaskStoreError {
            #expect(error.code == .unavailable)
            #expect(!error.description.contains("127.0.0.1"))
        }
        // Bounded, not hung: the bound is loose because a loaded 2-core machine running every suite at once took
        // almost 10 s here for a 300 ms selection timeout.
        #expect(ContinuousClock.now - start < .seconds(60))
        try await store.close()
    }

    @Test func aBadURIFailsWithoutEchoingIt() throws {
        do {
            _ = try MongoTaskStore(.init(uri: "notmongo://user:secret@x", database: "d", collection: "c"), logger: Logger(label: "t"))
            Issue.record("a bad URI was accepted")
        } catch let error as TaskStoreError {
            #expect(!error.description.contains("secret"))
        }
    }

    @Test(.enabled(if: StoreKind.available.contains(.mongo)))
    func indexesAreCreatedIdempotently() async throws {
        try await withStore(.mongo) { store in
            let mongo = try #require(store as? MongoTaskStore)
            try await mongo.ensureIndexes()
            try await mongo.ensureIndexes()
            try await mongo.ping()
        }
    }

    @Test(.enabled(if: StoreKind.available.contains(.mongo)))
    func anIndexDefinedDifferentlyByAnEarlierVersionIsRebuilt() async throws {
        try await withStore(.mongo) { store in
            let mongo = try #require(store as? MongoTaskStore)
            let collection = mongo.collectionName
            // What a build before the owner index became partial created: same name, other options.
            try await mongo.runCommand(
                ["dropIndexes": .string(collection), "index": "owner_id"],
                write: true,
                operation: "test"
            )
            try await mongo.runCommand(
                ["createIndexes": .string(collection), "indexes": [["key": ["_owner": 1, "id": -1], "name": "owner_id"]]],
                write: true,
                operation: "test"
            )
            try await mongo.ensureIndexes()
            // Rebuilt as defined now: creating today's definition again is a no-op, not a conflict.
            try await mongo.runCommand(
                ["createIndexes": .string(collection), "indexes": [MongoTaskQueries.indexes.last!.spec]],
                write: true,
                operation: "test"
            )
        }
    }
}
