import Auth
import Engine
import Foundation
import Hummingbird
import HummingbirdAuth
import Logging
import TES
import TaskStore

/// The task endpoints of TES 1.1: create, get, list, cancel.
///
/// A task belongs to the caller that created it; get, list and cancel see only what ``ServerConfiguration/access``
/// allows, and answer 404 for someone else's task, as for one that does not exist.
struct TaskController<Context: AuthRequestContext, Store: TaskStore> where Context.Identity == Principal {
    let store: Store
    let configuration: ServerConfiguration
    let ids: TaskIDSource
    /// Told about new and canceled tasks, so that the engine acts at once.
    let events: (any TaskEvents)?
    let encoder = TESJSON.makeEncoder()
    /// FULL listings hold whole tasks (content, logs) in memory: only a few are built at once.
    let fullLists: AsyncLimiter

    func addRoutes(to group: RouterGroup<Context>) {
        group.post("tasks", use: create)
        group.get("tasks", use: list)
        group.get("tasks/{id}", use: get)
        group.post("tasks/{id}:cancel", use: cancel)
    }

    /// The owner whose tasks this caller is limited to, or `nil` for all.
    private func scope(_ context: Context) -> String? {
        configuration.access.ownerScope(for: context.identity)
    }

    @Sendable func create(_ request: Request, context: Context) async throws -> Response {
        // JSON only: a form or text body is what a web page of another site can send without a CORS preflight.
        guard Self.isJSON(request.headers[.contentType]) else {
            throw APIError(
                .unsupportedMediaType,
                "Content-Type must be application/json, got \(request.headers[.contentType].map { "'\($0.prefix(100))'" } ?? "none")"
            )
        }
        let body = try await request.body.collect(upTo: configuration.maxBodyBytes)
        let submitted: TESTask
        do {
            submitted = try TESJSON.makeDecoder().decode(TESTask.self, from: body)
        } catch let error as DecodingError {
            throw TESValidationError(decoding: error)
        }
        let validated = try submitted.validatedForCreation(limits: configuration.limits)
        if let problem = configuration.placementProblem?(validated.task) { throw TESValidationError(problems: [problem]) }
        let limit = configuration.maxActiveTasksPerOwner
        if limit > 0 {
            // A quota, not a hard bound: two creates racing may both pass at the limit.
            let active = try await store.countActive(ownedBy: context.identity?.subject, upTo: limit)
            if active >= limit {
                throw APIError(
                    .tooManyRequests,
                    "\(active) of your tasks have not finished; at most \(limit) are accepted (tasks.max_active_per_owner)",
                    headers: [.retryAfter: "10"]
                )
            }
        }
        let now = Date()
        // Passwords in URLs are kept apart: views show the URLs without them.
        var (task, secrets) = TaskCredentials.extract(from: validated.task)
        task.id = ids.next(at: now)
        task.state = .queued
        task.creationTime = now
        task.logs = validated.warnings.isEmpty ? [] : [TESTaskLog(systemLogs: validated.warnings)]
        try await store.create(task, secrets: secrets, owner: context.identity?.subject)
        events?.taskCreated(id: task.id!)
        context.logger.info("Task created", metadata: ["tes.task.id": "\(task.id!)"])
        return try jsonResponse(TESCreateTaskResponse(id: task.id!), encoder: encoder)
    }

    /// `application/json`, with or without parameters (`; charset=utf-8`).
    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first ?? ""
        return mediaType.trimmingCharacters(in: .whitespaces).lowercased() == "application/json"
    }

    @Sendable func get(_ request: Request, context: Context) async throws -> Response {
        let id = try context.parameters.require("id")
        let task = try await store.get(id: id, view: try request.tesView(), ownedBy: scope(context))
        return try jsonResponse(task, encoder: encoder)
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> Response {
        var listRequest = try TESListRequest.parse(query: request.decodedQueryItems)
        listRequest.maxBytes = configuration.maxListBytes
        let owner = scope(context)
        let store = store
        let page = try await listRequest.view == .full
            ? fullLists.run { [listRequest] in try await store.list(listRequest, ownedBy: owner) }
            : store.list(listRequest, ownedBy: owner)
        let response = TESListTasksResponse(tasks: page.tasks, nextPageToken: page.nextAfterID.map(TESPageToken.make(after:)))
        return try jsonResponse(response, encoder: encoder)
    }

    @Sendable func cancel(_ request: Request, context: Context) async throws -> Response {
        let id = try context.parameters.require("id")
        let state = try await store.cancel(id: id, ownedBy: scope(context))
        if state == .canceling { events?.cancelRequested(id: id) }
        context.logger.info("Task cancel requested", metadata: ["tes.task.id": "\(id)", "tes.task.state": "\(state.rawValue)"])
        return try jsonResponse(TESCancelTaskResponse(), encoder: encoder)
    }
}
