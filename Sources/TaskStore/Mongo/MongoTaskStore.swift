import CMongoc
import Foundation
import Logging
import ServiceLifecycle
import TES

/// Tasks in a MongoDB collection, through libmongoc.
///
/// As a `Service`, it closes its client pool when the service group shuts down.
public final class MongoTaskStore: TaskStore, Service {
    /// Where the tasks are.
    public struct Configuration: Sendable {
        /// A MongoDB connection string. It may hold a password: it is never logged.
        public var uri: String
        public var database: String
        public var collection: String
        /// Connections (and threads for blocking calls).
        public var poolSize: Int

        public init(uri: String, database: String, collection: String, poolSize: Int = 8) {
            self.uri = uri
            self.database = database
            self.collection = collection
            self.poolSize = poolSize
        }
    }

    private let connection: MongoConnection
    private let collection: String
    private let logger: Logger

    /// The collection's name (for tests that send their own commands).
    var collectionName: String { collection }

    /// Prepares the client pool; connects on first use.
    public init(_ configuration: Configuration, logger: Logger) throws {
        self.connection = try MongoConnection(
            uri: configuration.uri,
            database: configuration.database,
            poolSize: configuration.poolSize,
            logger: logger
        )
        self.collection = configuration.collection
        self.logger = logger
    }

    public func run() async throws {
        try? await gracefulShutdown()
        try await connection.close()
    }

    /// Closes the pool when the store is used without a service group (tests, tools).
    public func close() async throws {
        try await connection.close()
    }

    /// Creates the indexes listings and state changes rely on (idempotent).
    ///
    /// An index that an earlier TESP defined differently under the same name (other keys or options) is dropped
    /// and built again, so that an upgrade that changes an index starts; `id_unique`, which keeps ids unique, is
    /// never dropped.
    public func ensureIndexes() async throws {
        for index in MongoTaskQueries.indexes {
            let create: MongoJSON = ["createIndexes": .string(collection), "indexes": [index.spec]]
            do {
                try await runCommand(create, write: true, operation: "createIndexes")
            } catch let error as TaskStoreError
                where error.serverCode.map(MongoTaskQueries.indexConflictCodes.contains) == true && index.name != "id_unique"
            {
                logger.warning("Index defined differently by an earlier version; rebuilding it", metadata: ["index": "\(index.name)"])
                try await runCommand(
                    ["dropIndexes": .string(collection), "index": .string(index.name)],
                    write: true,
                    operation: "dropIndexes"
                )
                try await runCommand(create, write: true, operation: "createIndexes")
            }
        }
    }

    /// Succeeds when the store answers.
    public func ping() async throws {
        try await runCommand(["ping": 1], write: false, operation: "ping")
    }

    public func create(_ task: TESTask, secrets: [String: String], owner: String?) async throws {
        let document = try MongoTaskCoding.json(StoredTask(task: task, secrets: secrets, owner: owner))
        try await connection.withCollection(collection) { collection in
            let bson = try BSONDocument(document)
            var error = bson_error_t()
            guard tesp_collection_insert_one(collection, bson.pointer, &error) else {
                throw storeError(error, during: "insert")
            }
        }
    }

    public func secrets(id: String) async throws -> [String: String] {
        let stored = try await hiddenFields(id: id, MongoTaskQueries.secretsField)
        return Dictionary((stored._secrets ?? []).map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    public func owner(id: String) async throws -> String? {
        try await hiddenFields(id: id, MongoTaskQueries.ownerField)._owner
    }

    /// The fields no view shows, of which only `field` is read.
    private func hiddenFields(id: String, _ field: String) async throws -> HiddenFields {
        let options: MongoJSON = ["projection": ["_id": 0, "id": 1, field: 1], "limit": 1]
        let documents = try await connection.withCollection(collection) { collection in
            try MongoTaskStore.findDocuments(collection, filter: ["id": .string(id)], options: options).documents
        }
        guard let document = documents.first else { throw TaskStoreError.notFound(id) }
        return try JSONDecoder().decode(HiddenFields.self, from: document)
    }

    private struct HiddenFields: Decodable {
        let _secrets: [TESTagPair]?
        let _owner: String?
    }

    public func get(id: String, view: TESView, ownedBy owner: String?) async throws -> TESTask {
        let options: MongoJSON = ["projection": MongoTaskQueries.projection(for: view), "limit": 1]
        guard let task = try await find(filter: MongoTaskQueries.filter(id: id, ownedBy: owner), options: options).first else {
            throw TaskStoreError.notFound(id)
        }
        return task
    }

    public func list(_ request: TESListRequest, ownedBy owner: String?) async throws -> TaskPage {
        var (tasks, cut) = try await find(
            filter: MongoTaskQueries.filter(for: request, ownedBy: owner),
            options: MongoTaskQueries.listOptions(for: request),
            maxBytes: request.maxBytes
        )
        let more = cut || tasks.count > request.pageSize
        if tasks.count > request.pageSize { tasks.removeLast(tasks.count - request.pageSize) }
        return TaskPage(tasks: tasks, nextAfterID: more ? tasks.last?.id : nil)
    }

    public func compareAndSetState(id: String, from expected: TESState, to next: TESState, update: TaskUpdate) async throws -> Bool {
        guard expected.canMove(to: next) else { throw TESTransitionError(from: expected, to: next) }
        var changes: [(String, MongoJSON)] = [("state", .string(next.rawValue))]
        if let logs = update.logs { changes.append(("logs", try MongoTaskCoding.json(logs))) }
        if let lease = update.lease { changes.append((MongoTaskQueries.leaseField, MongoTaskQueries.lease(lease))) }
        if let slot = update.slot, next.holdsJobSlot { changes.append((MongoTaskQueries.slotField, MongoTaskQueries.slot(slot))) }
        var unset: [(String, MongoJSON)] = []
        switch update.backend {
        case .keep: break
        case .set(let name): changes.append((MongoTaskQueries.backendField, .string(name)))
        case .clear: unset.append((MongoTaskQueries.backendField, ""))
        }
        if !next.holdsJobSlot { unset.append((MongoTaskQueries.slotField, "")) }
        let operations: [(String, MongoJSON)] = unset.isEmpty ? [] : [("$unset", .document(unset))]
        var query: [(String, MongoJSON)] = [("id", .string(id)), ("state", .string(expected.rawValue))]
        if let fence = update.fence { query.append((MongoTaskQueries.leaseHolderField, .string(fence))) }
        let updated = try await findAndModify(
            query: .document(query),
            update: .document([("$set", .document(changes))] + operations)
        )
        if updated { return true }
        let current = try await leaseAndState(id: id)  // throws notFound for an unknown id
        if let fence = update.fence, current.state == expected.rawValue, current._lease?.holder != fence {
            throw TaskStoreError.leaseLost(id, holder: fence)
        }
        return false
    }

    /// The task's state and lease (the lease is hidden from every view).
    private func leaseAndState(id: String) async throws -> LeaseAndState {
        let options: MongoJSON = ["projection": ["_id": 0, "state": 1, MongoTaskQueries.leaseField: 1], "limit": 1]
        let documents = try await connection.withCollection(collection) { collection in
            try MongoTaskStore.findDocuments(collection, filter: ["id": .string(id)], options: options).documents
        }
        guard let document = documents.first else { throw TaskStoreError.notFound(id) }
        return try JSONDecoder().decode(LeaseAndState.self, from: document)
    }

    private struct LeaseAndState: Decodable {
        struct Lease: Decodable {
            let holder: String
        }
        let state: String?
        let _lease: Lease?
    }

    public func acquireLease(id: String, _ lease: TaskLease, now: Date) async throws -> Bool {
        let free: MongoJSON = [
            "$or": [
                [MongoTaskQueries.leaseField: ["$exists": false]],
                [MongoTaskQueries.leaseExpiresField: ["$lt": .int(MongoTaskQueries.milliseconds(now))]],
                [MongoTaskQueries.leaseHolderField: .string(lease.holder)],
            ]
        ]
        if try await findAndModify(
            query: ["$and": [["id": .string(id)], free]],
            update: ["$set": [MongoTaskQueries.leaseField: MongoTaskQueries.lease(lease)]]
        ) {
            return true
        }
        _ = try await leaseAndState(id: id)  // throws notFound for an unknown id
        return false
    }

    public func renewLeases(ids: [String], holder: String, expires: Date) async throws -> Int {
        var renewed = 0
        // Chunks keep each command far below MongoDB's 16 MiB, whatever the number of tasks in flight.
        for start in stride(from: 0, to: ids.count, by: 1000) {
            let chunk = ids[start..<min(ids.count, start + 1000)]
            let command: MongoJSON = [
                "update": .string(collection),
                "updates": [
                    [
                        "q": [MongoTaskQueries.leaseHolderField: .string(holder), "id": ["$in": .array(chunk.map { .string($0) })]],
                        "u": ["$set": [MongoTaskQueries.leaseExpiresField: .int(MongoTaskQueries.milliseconds(expires))]],
                        "multi": true,
                    ]
                ],
            ]
            struct Reply: Decodable { let n: Int? }
            let reply = try await commandReply(command, operation: "update")
            renewed += try JSONDecoder().decode(Reply.self, from: reply).n ?? 0
        }
        return renewed
    }

    public func releaseLease(id: String, holder: String) async throws {
        _ = try await findAndModify(
            query: ["id": .string(id), MongoTaskQueries.leaseHolderField: .string(holder)],
            update: ["$unset": [MongoTaskQueries.leaseField: ""]]
        )
    }

    public func unleasedTasks(in states: Set<TESState>, now: Date, limit: Int) async throws -> [String] {
        guard limit > 0, !states.isEmpty else { return [] }
        let filter: MongoJSON = [
            "$and": [
                ["state": ["$in": .array(states.map { .string($0.rawValue) }.sorted { $0.text < $1.text })]],
                MongoTaskQueries.unleased(now: now),
            ]
        ]
        let options: MongoJSON = ["projection": ["_id": 0, "id": 1], "sort": ["id": 1], "limit": .int(limit)]
        struct Row: Decodable { let id: String }
        let documents = try await connection.withCollection(collection) { collection in
            try MongoTaskStore.findDocuments(collection, filter: filter, options: options).documents
        }
        return try documents.map { try JSONDecoder().decode(Row.self, from: $0).id }
    }

    public func claimedSlots(on backend: String) async throws -> Set<Int> {
        let options: MongoJSON = ["projection": ["_id": 0, "_slot.n": 1]]
        struct Row: Decodable {
            struct Slot: Decodable { let n: Int }
            let _slot: Slot?
        }
        let documents = try await connection.withCollection(collection) { collection in
            try MongoTaskStore.findDocuments(collection, filter: ["_slot.backend": .string(backend)], options: options).documents
        }
        return Set(try documents.compactMap { try JSONDecoder().decode(Row.self, from: $0)._slot?.n })
    }

    public func countByBackend(in states: Set<TESState>) async throws -> [String: Int] {
        let field = MongoTaskQueries.backendField
        let pipeline: MongoJSON = [
            "pipeline": [
                ["$match": ["state": ["$in": .array(states.map { .string($0.rawValue) }.sorted { $0.text < $1.text })], field: ["$exists": true]]],
                ["$group": ["_id": .string("$" + field), "count": ["$sum": 1]]],
            ]
        ]
        struct Group: Decodable {
            let _id: String
            let count: Int
        }
        let documents = try await connection.withCollection(collection) { collection in
            try MongoTaskStore.aggregateDocuments(collection, pipeline: pipeline)
        }
        var counts: [String: Int] = [:]
        for document in documents {
            let group = try JSONDecoder().decode(Group.self, from: document)
            counts[group._id] = group.count
        }
        return counts
    }

    public func appendSystemLog(id: String, _ message: String) async throws {
        // Two shapes, each applied only where it fits, so that concurrent appends never lose a line:
        // push onto logs[0].system_logs when logs[0] exists, or create logs[0] when it does not.
        while true {
            if try await findAndModify(
                query: ["id": .string(id), "logs.0": ["$exists": true]],
                update: ["$push": ["logs.0.system_logs": .string(message)]]
            ) {
                return
            }
            let firstLog = try MongoTaskCoding.json(TESTaskLog(systemLogs: [message]))
            if try await findAndModify(
                query: ["id": .string(id), "logs.0": ["$exists": false]],
                update: ["$set": ["logs": .array([firstLog])]]
            ) {
                return
            }
            _ = try await get(id: id, view: .minimal)  // throws notFound; otherwise logs[0] just appeared: retry
        }
    }

    public func updateLogs(id: String, _ logs: [TESTaskLog], fence: String?) async throws {
        let value = try MongoTaskCoding.json(logs)
        var query: [(String, MongoJSON)] = [("id", .string(id))]
        if let fence { query.append((MongoTaskQueries.leaseHolderField, .string(fence))) }
        guard try await findAndModify(query: .document(query), update: ["$set": ["logs": value]]) else {
            _ = try await leaseAndState(id: id)  // throws notFound for an unknown id
            throw TaskStoreError.leaseLost(id, holder: fence ?? "")
        }
    }

    // MARK: - libmongoc calls

    private func find(filter: MongoJSON, options: MongoJSON) async throws -> [TESTask] {
        try await find(filter: filter, options: options, maxBytes: nil).tasks
    }

    /// - Returns: the tasks, and whether they were cut short at `maxBytes` (at least one is always returned).
    private func find(filter: MongoJSON, options: MongoJSON, maxBytes: Int?) async throws -> (tasks: [TESTask], cut: Bool) {
        try await connection.withCollection(collection) { collection in
            let decoder = MongoTaskCoding.makeDecoder()
            let (documents, cut) = try MongoTaskStore.findDocuments(collection, filter: filter, options: options, maxBytes: maxBytes)
            let tasks = try documents.map { json in
                do {
                    return try decoder.decode(TESTask.self, from: json)
                } catch {
                    throw TaskStoreError(.corrupt, "a stored task could not be decoded: \(error)")
                }
            }
            return (tasks, cut)
        }
    }

    /// The documents a find returns, as relaxed extended JSON (runs on a store thread); with `maxBytes`, it stops
    /// before the document that would pass it (never before the first).
    private static func findDocuments(
        _ collection: OpaquePointer,
        filter: MongoJSON,
        options: MongoJSON,
        maxBytes: Int? = nil
    ) throws -> (documents: [Data], cut: Bool) {
        let filterBSON = try BSONDocument(filter)
        let optionsBSON = try BSONDocument(options)
        guard let cursor = mongoc_collection_find_with_opts(collection, filterBSON.pointer, optionsBSON.pointer, nil)
        else { throw TaskStoreError(.failed, "find could not start") }
        defer { mongoc_cursor_destroy(cursor) }
        var documents: [Data] = []
        var total = 0
        while let document = tesp_cursor_next(cursor) {
            let json = try BSONDocument.json(of: document)
            if let maxBytes, !documents.isEmpty, total + json.count > maxBytes { return (documents, true) }
            total += json.count
            documents.append(json)
        }
        var error = bson_error_t()
        if mongoc_cursor_error(cursor, &error) { throw storeError(error, during: "find") }
        return (documents, false)
    }

    /// The documents an aggregation returns, as relaxed extended JSON (runs on a store thread).
    private static func aggregateDocuments(_ collection: OpaquePointer, pipeline: MongoJSON) throws -> [Data] {
        let pipelineBSON = try BSONDocument(pipeline)
        guard let cursor = mongoc_collection_aggregate(collection, MONGOC_QUERY_NONE, pipelineBSON.pointer, nil, nil)
        else { throw TaskStoreError(.failed, "aggregate could not start") }
        defer { mongoc_cursor_destroy(cursor) }
        var documents: [Data] = []
        while let document = tesp_cursor_next(cursor) { documents.append(try BSONDocument.json(of: document)) }
        var error = bson_error_t()
        if mongoc_cursor_error(cursor, &error) { throw storeError(error, during: "aggregate") }
        return documents
    }

    /// Applies `update` to the task `query` matches.
    /// - Returns: whether a task matched.
    private func findAndModify(query: MongoJSON, update: MongoJSON) async throws -> Bool {
        let fields: MongoJSON = ["_id": 1]
        return try await connection.withCollection(collection) { collection in
            let queryBSON = try BSONDocument(query)
            let updateBSON = try BSONDocument(update)
            let fieldsBSON = try BSONDocument(fields)
            var error = bson_error_t()
            guard
                let reply = tesp_collection_find_and_modify(
                    collection,
                    queryBSON.pointer,
                    updateBSON.pointer,
                    fieldsBSON.pointer,
                    true,
                    &error
                )
            else { throw storeError(error, during: "findAndModify") }
            let json = try BSONDocument(owning: reply).json()
            struct Reply: Decodable {
                struct Value: Decodable {}
                let value: Value?
            }
            return try JSONDecoder().decode(Reply.self, from: json).value != nil
        }
    }

    /// Runs a write command and returns its reply as relaxed extended JSON.
    private func commandReply(_ command: MongoJSON, operation: String) async throws -> Data {
        try await connection.withDatabase { database in
            let commandBSON = try BSONDocument(command)
            var error = bson_error_t()
            guard let reply = tesp_database_write_command(database, commandBSON.pointer, &error) else {
                throw storeError(error, during: operation)
            }
            return try BSONDocument(owning: reply).json()
        }
    }

    func runCommand(_ command: MongoJSON, write: Bool, operation: String) async throws {
        try await connection.withDatabase { database in
            let commandBSON = try BSONDocument(command)
            var error = bson_error_t()
            let reply =
                write
                ? tesp_database_write_command(database, commandBSON.pointer, &error)
                : tesp_database_read_command(database, commandBSON.pointer, &error)
            guard let reply else { throw storeError(error, during: operation) }
            bson_destroy(reply)
        }
    }
}

/// A task as stored: the TES fields, its secrets as a list of pairs (keys hold dots, which MongoDB field names
/// cannot) and its owner, in fields that every projection leaves out.
private struct StoredTask: Encodable {
    let task: TESTask
    let secrets: [String: String]
    let owner: String?

    func encode(to encoder: any Encoder) throws {
        try task.encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        try container.encodeIfPresent(owner, forKey: .owner)
        guard !secrets.isEmpty else { return }
        try container.encode(
            secrets.sorted { $0.key < $1.key }.map { TESTagPair(key: $0.key, value: $0.value) },
            forKey: .secrets
        )
    }

    private enum Keys: String, CodingKey {
        case secrets = "_secrets"
        case owner = "_owner"
    }
}
