import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Server
import TES
import TaskStore
import Testing

/// A web page of another site must not create or cancel tasks on a TESP the user can reach; allowed origins can.
@Suite struct CrossSiteRoutesTests {
    static let task = #"{"executors": [{"image": "alpine", "command": ["true"]}]}"#

    @Test func onlyJSONBodiesCreateTasks() async throws {
        try await withApp { client in
            for type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx"] {
                let response = try await client.post("/ga4gh/tes/v1/tasks", json: Self.task, headers: [.contentType: type])
                expectError(response, .unsupportedMediaType, mentioning: "application/json")
            }
            let none = try await client.post("/ga4gh/tes/v1/tasks", json: Self.task, headers: [:])
            expectError(none, .unsupportedMediaType, mentioning: "none")
            let charset = try await client.post("/v1/tasks", json: Self.task, headers: [.contentType: "Application/JSON; charset=utf-8"])
            #expect(charset.status == .ok, "\(charset.text)")
            // Nothing but the last one was stored.
            #expect((try await client.get("/ga4gh/tes/v1/tasks").json["tasks"] as? [Any])?.count == 1)
        }
    }

    @Test func postsFromForeignOriginsAreRefused() async throws {
        try await withApp { client in
            let id = try await client.createTask()
            let foreign: HTTPFields = [.contentType: "application/json", .origin: "https://evil.example"]
            expectError(try await client.post("/ga4gh/tes/v1/tasks", json: Self.task, headers: foreign), .forbidden, mentioning: "cors_allowed_origins")
            let cancel = try await client.execute(uri: "/ga4gh/tes/v1/tasks/\(id):cancel", method: .post, headers: foreign) { $0 }
            expectError(cancel, .forbidden, mentioning: "another site")
            var fetchMetadata: HTTPFields = [.contentType: "application/json"]
            fetchMetadata[HTTPField.Name("Sec-Fetch-Site")!] = "cross-site"
            expectError(try await client.post("/ga4gh/tes/v1/tasks", json: Self.task, headers: fetchMetadata), .forbidden, mentioning: "another site")
            // A preflight from a foreign origin is refused too.
            let preflight = try await client.execute(
                uri: "/ga4gh/tes/v1/tasks",
                method: .options,
                headers: [.origin: "https://evil.example", .accessControlRequestMethod: "POST"]
            ) { $0 }
            expectError(preflight, .forbidden, mentioning: "not allowed")
            #expect(try await client.get("/ga4gh/tes/v1/tasks/\(id)").json["state"] as? String == "QUEUED")
            // Reads stay open (the answers carry no CORS header, so the page cannot read them).
            let read = try await client.execute(uri: "/ga4gh/tes/v1/tasks", method: .get, headers: [.origin: "https://evil.example"]) { $0 }
            #expect(read.status == .ok && read.headers[.accessControlAllowOrigin] == nil)
        }
    }

    @Test func allowedOriginsGetPreflightsAndCORSHeaders() async throws {
        var configuration = testConfiguration
        configuration.corsAllowedOrigins = ["https://ui.example.org"]
        try await withApp(configuration: configuration) { client in
            let preflight = try await client.execute(
                uri: "/ga4gh/tes/v1/tasks",
                method: .options,
                headers: [.origin: "https://ui.example.org", .accessControlRequestMethod: "POST", .accessControlRequestHeaders: "content-type"]
            ) { $0 }
            #expect(preflight.status == .noContent)
            #expect(preflight.headers[.accessControlAllowOrigin] == "https://ui.example.org")
            #expect(preflight.headers[.accessControlAllowMethods]?.contains("POST") == true)
            #expect(preflight.headers[.accessControlAllowHeaders]?.contains("Content-Type") == true)
            let created = try await client.post(
                "/ga4gh/tes/v1/tasks",
                json: Self.task,
                headers: [.contentType: "application/json", .origin: "https://ui.example.org"]
            )
            #expect(created.status == .ok, "\(created.text)")
            #expect(created.headers[.accessControlAllowOrigin] == "https://ui.example.org")
        }
    }
}

@Suite struct QuotaRoutesTests {
    @Test func anOwnerWithTooManyUnfinishedTasksGets429UntilOneFinishes() async throws {
        var configuration = testConfiguration
        configuration.maxActiveTasksPerOwner = 2
        let store = InMemoryTaskStore()
        try await withApp(store: store, configuration: configuration) { client in
            let first = try await client.createTask()
            _ = try await client.createTask()
            let refused = try await client.post("/ga4gh/tes/v1/tasks", json: #"{"executors": [{"image": "alpine", "command": ["true"]}]}"#)
            expectError(refused, .tooManyRequests, mentioning: "tasks.max_active_per_owner")
            // A finished task no longer counts.
            _ = try await client.execute(uri: "/ga4gh/tes/v1/tasks/\(first):cancel", method: .post) { $0 }
            _ = try await client.createTask()
        }
    }
}

@Suite struct LogTextTests {
    @Test func controlCharactersCannotForgeALogLineAndLongValuesAreCut() {
        #expect(LogText.sanitized("RS256\r\n2026-01-01 critical forged") == "RS256\\u{d}\\u{a}2026-01-01 critical forged")
        let long = LogText.sanitized(String(repeating: "a", count: 65_536))
        #expect(long.utf8.count < 1100 && long.hasSuffix("…(65536 bytes)"))
        #expect(LogText.sanitized("é ✓") == "é ✓")
    }

    @Test func terminalEscapesAreShownNotObeyed() {
        #expect(LogText.terminalSafe("name\u{1B}]0;pwned\u{7}\nnext") == "name\\u{1b}]0;pwned\\u{7}\nnext")
        #expect(LogText.terminalSafe("a\u{9B}31m") == "a\\u{9b}31m")
    }
}

/// A store whose FULL listings wait until released, counting how many run at once.
actor HeldListings {
    private(set) var running = 0
    private(set) var most = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func enter() async {
        running += 1
        most = max(most, running)
        await withCheckedContinuation { waiting.append($0) }
        running -= 1
    }

    func releaseAll() {
        let all = waiting
        waiting = []
        for continuation in all { continuation.resume() }
    }

    var waitingCount: Int { waiting.count }
}

struct HoldingFullListsStore: TaskStore {
    let inner = InMemoryTaskStore()
    let held: HeldListings

    func create(_ task: TESTask, secrets: [String: String], owner: String?) async throws {
        try await inner.create(task, secrets: secrets, owner: owner)
    }
    func secrets(id: String) async throws -> [String: String] { try await inner.secrets(id: id) }
    func owner(id: String) async throws -> String? { try await inner.owner(id: id) }
    func get(id: String, view: TESView, ownedBy owner: String?) async throws -> TESTask {
        try await inner.get(id: id, view: view, ownedBy: owner)
    }
    func list(_ request: TESListRequest, ownedBy owner: String?) async throws -> TaskPage {
        if request.view == .full { await held.enter() }
        return await inner.list(request, ownedBy: owner)
    }
    func compareAndSetState(id: String, from expected: TESState, to next: TESState, update: TaskUpdate) async throws -> Bool {
        try await inner.compareAndSetState(id: id, from: expected, to: next, update: update)
    }
    func countByBackend(in states: Set<TESState>) async throws -> [String: Int] { await inner.countByBackend(in: states) }
    func claimedSlots(on backend: String) async throws -> Set<Int> { await inner.claimedSlots(on: backend) }
    func appendSystemLog(id: String, _ message: String) async throws { try await inner.appendSystemLog(id: id, message) }
    func updateLogs(id: String, _ logs: [TESTaskLog], fence: String?) async throws {
        try await inner.updateLogs(id: id, logs, fence: fence)
    }
    func acquireLease(id: String, _ lease: TaskLease, now: Date) async throws -> Bool {
        try await inner.acquireLease(id: id, lease, now: now)
    }
    func renewLeases(ids: [String], holder: String, expires: Date) async throws -> Int {
        await inner.renewLeases(ids: ids, holder: holder, expires: expires)
    }
    func releaseLease(id: String, holder: String) async throws { await inner.releaseLease(id: id, holder: holder) }
    func unleasedTasks(in states: Set<TESState>, now: Date, limit: Int) async throws -> [String] {
        await inner.unleasedTasks(in: states, now: now, limit: limit)
    }
}

@Suite struct FullListLimitTests {
    @Test func onlyMaxConcurrentFullListsFullListingsRunAtOnce() async throws {
        var configuration = testConfiguration
        configuration.maxConcurrentFullLists = 2
        let held = HeldListings()
        try await withApp(store: HoldingFullListsStore(held: held), configuration: configuration) { client in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<5 {
                    group.addTask { _ = try await client.get("/ga4gh/tes/v1/tasks?view=FULL") }
                }
                // Wait until the limiter let its two through; give the other three every chance to pass it.
                while await held.waitingCount < 2 { try await Task.sleep(for: .milliseconds(10)) }
                for _ in 0..<50 { await Task.yield() }
                try await Task.sleep(for: .milliseconds(200))
                #expect(await held.most == 2)
                // BASIC listings are not held back by the FULL ones.
                #expect(try await client.get("/ga4gh/tes/v1/tasks?view=BASIC").status == .ok)
                while true {
                    let waiting = await held.waitingCount
                    let running = await held.running
                    if waiting == 0 && running == 0 { break }
                    await held.releaseAll()
                    try await Task.sleep(for: .milliseconds(10))
                }
                try await group.waitForAll()
            }
            #expect(await held.most == 2)
        }
    }
}
