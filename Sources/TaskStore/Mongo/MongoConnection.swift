import CMongoc
import Foundation
import Logging
import Metrics
import NIOPosix
import Synchronization

/// Owns libmongoc's client pool and the threads that make its blocking calls.
///
/// `@unchecked Sendable`: `mongoc_client_pool_t` is thread-safe (libmongoc documents it so), the URI is only read,
/// and a popped client never leaves ``withClient(_:)``. Every libmongoc call runs on `threads`, never on an
/// event loop; there is one thread per pooled client, so a pop never waits for a client.
final class MongoConnection: @unchecked Sendable {
    private let uri: OpaquePointer  // mongoc_uri_t *
    private let pool: OpaquePointer  // mongoc_client_pool_t *
    private let threads: NIOThreadPool
    let databaseName: String

    /// Connects lazily: nothing is sent until the first operation.
    /// - Throws: ``TaskStoreError`` `.failed` for a URI libmongoc cannot parse (the message leaves the URI out).
    init(uri uriString: String, database: String, poolSize: Int, logger: Logger) throws {
        MongoRuntime.start(logger: logger)
        var error = bson_error_t()
        guard let uri = mongoc_uri_new_with_error(uriString, &error) else {
            throw TaskStoreError(.failed, "the MongoDB URI is not valid: \(String(cString: tesp_bson_error_message(&error)))")
        }
        guard let pool = mongoc_client_pool_new(uri) else {
            mongoc_uri_destroy(uri)
            throw TaskStoreError(.failed, "could not create a MongoDB client pool")
        }
        mongoc_client_pool_set_error_api(pool, Int32(MONGOC_ERROR_API_VERSION_2))
        mongoc_client_pool_set_appname(pool, "tesp")
        mongoc_client_pool_max_size(pool, UInt32(max(1, poolSize)))
        self.uri = uri
        self.pool = pool
        self.databaseName = database
        self.threads = NIOThreadPool(numberOfThreads: max(1, poolSize))
        self.threads.start()
    }

    /// Runs `body` on a store thread with a pooled client (`mongoc_client_t *`).
    func withClient<T: Sendable>(_ body: @escaping @Sendable (OpaquePointer) throws -> T) async throws -> T {
        // Time in the store, thread hop included: the benchmark compares it with the whole request's time.
        let start = ContinuousClock.now
        defer { Timer(label: "tesp_store_call_duration_seconds").record(duration: ContinuousClock.now - start) }
        do {
            return try await threads.runIfActive {
                guard let client = mongoc_client_pool_pop(self.pool) else {
                    throw TaskStoreError(.unavailable, "no MongoDB client available")
                }
                defer { mongoc_client_pool_push(self.pool, client) }
                return try body(client)
            }
        } catch is NIOThreadPoolError.ThreadPoolInactive {
            throw TaskStoreError(.unavailable, "the task store is shutting down")
        }
    }

    /// Runs `body` with the named collection (`mongoc_collection_t *`) of the configured database.
    func withCollection<T: Sendable>(
        _ name: String,
        _ body: @escaping @Sendable (OpaquePointer) throws -> T
    ) async throws -> T {
        let database = databaseName
        return try await withClient { client in
            guard let collection = mongoc_client_get_collection(client, database, name) else {
                throw TaskStoreError(.failed, "could not open collection '\(name)'")
            }
            defer { mongoc_collection_destroy(collection) }
            return try body(collection)
        }
    }

    /// Runs `body` with the configured database (`mongoc_database_t *`).
    func withDatabase<T: Sendable>(_ body: @escaping @Sendable (OpaquePointer) throws -> T) async throws -> T {
        let database = databaseName
        return try await withClient { client in
            guard let handle = mongoc_client_get_database(client, database) else {
                throw TaskStoreError(.failed, "could not open database")
            }
            defer { mongoc_database_destroy(handle) }
            return try body(handle)
        }
    }

    /// Stops the threads, then frees the pool. Call once, after the last operation.
    func close() async throws {
        try await threads.shutdownGracefully()
        mongoc_client_pool_destroy(pool)
        mongoc_uri_destroy(uri)
    }
}

/// Turns a libmongoc error into a ``TaskStoreError`` whose text is safe to show (no host names or URIs).
func storeError(_ error: bson_error_t, during operation: String) -> TaskStoreError {
    var error = error
    let domain = error.domain
    // libmongoc refuses a document over the server's maximum before sending it (a client error, not an outage);
    // servers answer BSONObjectTooLarge (10334) or "document after update is larger than" (17419, 17420).
    if (domain == MONGOC_ERROR_CLIENT.rawValue && error.code == MONGOC_ERROR_CLIENT_TOO_BIG.rawValue)
        || [10334, 17419, 17420].contains(error.code)
    {
        return TaskStoreError(.tooLarge, "\(operation) failed: the task would be larger than the store's document limit")
    }
    if domain == MONGOC_ERROR_STREAM.rawValue || domain == MONGOC_ERROR_SERVER_SELECTION.rawValue
        || domain == MONGOC_ERROR_CLIENT.rawValue
    {
        return TaskStoreError(.unavailable, "task store unavailable during \(operation)")
    }
    if error.code == 11000 {
        return TaskStoreError(.conflict, "duplicate key during \(operation)")
    }
    return TaskStoreError(
        .failed,
        "\(operation) failed: \(String(cString: tesp_bson_error_message(&error)).prefix(200))",
        serverCode: error.code
    )
}

/// The process-wide part of libmongoc: `mongoc_init` once, and its log lines routed to swift-log.
enum MongoRuntime {
    private static let logger = Mutex<Logger?>(nil)
    private static let initialized: Void = {
        tesp_mongoc_set_log_handler { level, domain, message in
            // libmongoc logs a DEBUG line every half second while a server is down; keep warnings and worse.
            guard level <= Int32(MONGOC_LOG_LEVEL_WARNING.rawValue), let message else { return }
            let text = String(cString: message)
            let domainText = domain.map { String(cString: $0) } ?? "mongoc"
            MongoRuntime.logger.withLock { logger in
                logger?.warning("libmongoc", metadata: ["mongoc.domain": "\(domainText)", "mongoc.message": "\(text)"])
            }
        }
        mongoc_init()
    }()

    /// Initialises libmongoc once per process and sends its warnings to `logger`.
    static func start(logger: Logger) {
        Self.logger.withLock { current in
            if current == nil { current = logger }
        }
        _ = initialized
    }
}
