import Foundation
import TES
import TaskStore
import Testing

/// What every TaskStore must do; each test runs on the in-memory store and on MongoDB, so they cannot drift.
@Suite struct TaskStoreContractTests {
    @Test(arguments: StoreKind.available)
    func createdTasksReadBackInEveryView(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            var ids = IDMaker()
            let id = ids.next()
            var task = storedTask(id: id, name: "n", tags: ["a.b": "x", "$k": "y"])
            task.logs = [
                TESTaskLog(
                    logs: [TESExecutorLog(startTime: Date(timeIntervalSince1970: 5), stdout: "o", stderr: "e", exitCode: 1)],
                    metadata: ["host": "h"],
                    startTime: Date(timeIntervalSince1970: 4),
                    outputs: [TESOutputFileLog(url: "ftp://h/o", path: "/o", sizeBytes: "10")],
                    systemLogs: ["s"]
                )
            ]
            try await store.create(task)
            var expected = task
            expected.creationTime = TESTime.truncatedToMilliseconds(task.creationTime!)
            for view in TESView.allCases {
                let got = try await store.get(id: id, view: view)
                let want = expected.projected(to: view)
                let encoder = TESJSON.makeEncoder()
                encoder.outputFormatting.insert(.sortedKeys)
                let gotJSON = String(decoding: try encoder.encode(got), as: UTF8.self)
                let wantJSON = String(decoding: try encoder.encode(want), as: UTF8.self)
                #expect(got == want, "\(view): \(gotJSON) differs from \(wantJSON)")
            }
        }
    }

    @Test(arguments: StoreKind.available)
    func aWriteLargerThanADocumentIsTooLargeAndChangesNothing(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            var ids = IDMaker()
            let id = ids.next()
            try await store.create(storedTask(id: id, state: .running))
            // 17 MiB of stdout: more than MongoDB's 16 MiB document.
            let huge = String(repeating: "x", count: 17 * 1024 * 1024)
            let logs = [TESTaskLog(logs: [TESExecutorLog(stdout: huge, exitCode: 0)])]
            do {
                _ = try await store.compareAndSetState(id: id, from: .running, to: .complete, logs: logs)
                Issue.record("a 17 MiB task was stored")
            } catch let error as TaskStoreError {
                // Permanent, never "unavailable" (which would have the engine retry forever). MongoDB answers
                // BSONObjectTooLarge (.tooLarge); SecantusDB, the test server, an internal error (.failed).
                #expect(error.code == .tooLarge || (kind == .mongo && error.code == .failed), "\(error)")
            }
            #expect(try await store.get(id: id, view: .minimal).state == .running)
            // A write that fits goes through afterwards.
            #expect(try await store.compareAndSetState(id: id, from: .running, to: .systemError, logs: []))
        }
    }

    @Test(arguments: StoreKind.available)
    func aByteBudgetEndsPagesEarlyAndPagingStillSeesEveryTaskOnce(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            var ids = IDMaker()
            var created: [String] = []
            for _ in 0..<7 {
                var task = storedTask(id: ids.next())
                task.inputs = [TESInput(path: "/data/c", content: String(repeating: "c", count: 10_000))]
                try await store.create(task)
                created.append(task.id!)
            }
            var seen: [String] = []
            var after: String?
            var pages = 0
            repeat {
                // About two tasks' worth of bytes: each page stops before the third.
                let page = try await store.list(TESListRequest(pageSize: 2048, afterID: after, view: .full, maxBytes: 25_000))
                #expect(!page.tasks.isEmpty && page.tasks.count <= 2)
                seen += page.tasks.compactMap(\.id)
                after = page.nextAfterID
                pages += 1
            } while after != nil && pages < 20
            #expect(seen == created.reversed())
            #expect(pages >= 4)
            // One task larger than the budget still comes, alone.
            let tiny = try await store.list(TESListRequest(pageSize: 10, view: .full, maxBytes: 100))
            #expect(tiny.tasks.count == 1 && tiny.nextAfterID != nil)
        }
    }

    @Test(arguments: StoreKind.available)
    func unknownIdsAreNotFound(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            await #expect(throws: TaskStoreError.self) { try await store.get(id: "nope", view: .minimal) }
            do {
                _ = try await store.get(id: "nope", view: .full)
            } catch let error as TaskStoreError {
                #expect(error.code == .notFound)
            }
            await #expect(throws: TaskStoreError.self) { try await store.appendSystemLog(id: "nope", "x") }
            await #expect(throws: TaskStoreError.self) { try await store.updateLogs(id: "nope", []) }
            await #expect(throws: TaskStoreError.self) {
                try await store.compareAndSetState(id: "nope", from: .queued, to: .initializing)
            }
        }
    }

    @Test(arguments: StoreKind.available)
    func aDuplicateIdIsAConflict(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            var ids = IDMaker()
            let task = storedTask(id: ids.next())
            try await store.create(task)
            do {
                try await store.create(task)
                Issue.record("a second create with the same id succeeded")
            } catch let error as TaskStoreError {
                #expect(error.code == .conflict)
            }
        }
    }

    @Test(arguments: StoreKind.available)
    func listingIsNewestFirstWithStableKeysetPages(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            var ids = IDMaker()
            var created: [String] = []
            for index in 0..<25 {
                let id = ids.next()
                created.append(id)
                try await store.create(storedTask(id: id, name: "task-\(index)"))
            }
            var request = TESListRequest(pageSize: 10)
            let first = try await store.list(request)
            #expect(first.tasks.map(\.id) == created.reversed()[0..<10].map { $0 })
            #expect(first.tasks.allSatisfy { $0.name == nil && $0.state == .queued })  // MINIMAL
            // A task created between pages does not shift the next page.
            try await store.create(storedTask(id: ids.next(), name: "late"))
            request.afterID = first.nextAfterID
            #expect(request.afterID != nil)
            let second = try await store.list(request)
            #expect(second.tasks.map(\.id) == created.reversed()[10..<20].map { $0 })
            request.afterID = second.nextAfterID
            #expect(request.afterID != nil)
            let third = try await store.list(request)
            #expect(third.tasks.map(\.id) == created.reversed()[20..<25].map { $0 })
            #expect(third.nextAfterID == nil)
            // An exactly full last page has no next page either.
            let all = try await store.list(TESListRequest(pageSize: 26))
            #expect(all.tasks.count == 26 && all.nextAfterID == nil)
        }
    }

    @Test(arguments: StoreKind.available)
    func listingFiltersByStateNamePrefixAndTags(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            var ids = IDMaker()
            let names = ["align.*", "alignment", "Align", "a", "é-composé", "zz\u{10FFFF}x", "abc"]
            var byName: [String: String] = [:]
            for name in names {
                let id = ids.next()
                byName[name] = id
                try await store.create(storedTask(id: id, name: name))
            }
            func matching(_ filter: TESTaskFilter) async throws -> Set<String> {
                let page = try await store.list(TESListRequest(filter: filter, view: .basic))
                return Set(page.tasks.compactMap(\.name))
            }
            #expect(try await matching(TESTaskFilter(namePrefix: "align.*")) == ["align.*"])
            #expect(try await matching(TESTaskFilter(namePrefix: "align")) == ["align.*", "alignment"])
            #expect(try await matching(TESTaskFilter(namePrefix: "a")) == ["align.*", "alignment", "a", "abc"])
            #expect(try await matching(TESTaskFilter(namePrefix: "é")) == ["é-composé"])
            #expect(try await matching(TESTaskFilter(namePrefix: "zz\u{10FFFF}")) == ["zz\u{10FFFF}x"])
            #expect(try await matching(TESTaskFilter(namePrefix: ".")) == [])

            let running = ids.next()
            try await store.create(storedTask(id: running, name: "r", tags: ["a.b": "1", "env": "prod", "e": ""]))
            #expect(try await store.compareAndSetState(id: running, from: .queued, to: .initializing))
            #expect(try await matching(TESTaskFilter(state: .initializing)) == ["r"])
            #expect(try await matching(TESTaskFilter(state: .queued)).count == names.count)
            #expect(try await matching(TESTaskFilter(tags: [.init(key: "a.b", value: "1")])) == ["r"])
            #expect(try await matching(TESTaskFilter(tags: [.init(key: "a.b", value: "2")])) == [])
            #expect(try await matching(TESTaskFilter(tags: [.init(key: "env", value: nil)])) == ["r"])
            #expect(try await matching(TESTaskFilter(tags: [.init(key: "e", value: nil)])) == ["r"])
            #expect(try await matching(TESTaskFilter(tags: [.init(key: "env", value: "prod"), .init(key: "x", value: nil)])) == [])
            #expect(try await matching(TESTaskFilter(state: .initializing, tags: [.init(key: "env", value: "prod")])) == ["r"])
        }
    }

    @Test(arguments: StoreKind.available)
    func stateChangesAreCompareAndSet(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            var ids = IDMaker()
            let id = ids.next()
            try await store.create(storedTask(id: id))
            #expect(try await store.compareAndSetState(id: id, from: .queued, to: .initializing))
            #expect(try await !store.compareAndSetState(id: id, from: .queued, to: .initializing))
            #expect(try await store.get(id: id, view: .minimal).state == .initializing)
            await #expect(throws: TESTransitionError(from: .initializing, to: .complete)) {
                try await store.compareAndSetState(id: id, from: .initializing, to: .complete)
            }
        }
    }

    @Test(arguments: StoreKind.available)
    func aStateChangeCanReplaceTheLogsAtomically(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            var ids = IDMaker()
            let id = ids.next()
            try await store.create(storedTask(id: id))
            let logs = [TESTaskLog(metadata: ["pulsar_server": "p"], startTime: Date(timeIntervalSince1970: 7))]
            #expect(try await store.compareAndSetState(id: id, from: .queued, to: .initializing, logs: logs))
            #expect(try await store.get(id: id, view: .full).logs == logs)
            // A failed compare-and-set writes nothing.
            #expect(try await !store.compareAndSetState(id: id, from: .queued, to: .initializing, logs: []))
            #expect(try await store.get(id: id, view: .full).logs == logs)
        }
    }

    @Test(arguments: StoreKind.available)
    func concurrentWritersMoveATaskOnlyOnce(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            var ids = IDMaker()
            let id = ids.next()
            try await store.create(storedTask(id: id))
            let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<16 {
                    group.addTask {
                        try await store.compareAndSetState(
                            id: id,
                            from: .queued,
                            to: index.isMultiple(of: 2) ? .initializing : .canceled
                        )
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(wins == 1)
        }
    }

    @Test(arguments: StoreKind.available)
    func cancelFollowsTheTESRules(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            var ids = IDMaker()
            let queued = ids.next()
            let running = ids.next()
            let done = ids.next()
            try await store.create(storedTask(id: queued))
            try await store.create(storedTask(id: running, state: .running))
            try await store.create(storedTask(id: done, state: .complete))
            #expect(try await store.cancel(id: queued) == .canceled)
            #expect(try await store.cancel(id: running) == .canceling)
            #expect(try await store.cancel(id: running) == .canceling)
            #expect(try await store.cancel(id: done) == .complete)
            #expect(try await store.get(id: done, view: .minimal).state == .complete)
            await #expect(throws: TaskStoreError.self) { try await store.cancel(id: "unknown") }
        }
    }

    @Test(arguments: StoreKind.available)
    func backendsAreCountedByStateAndNeverShown(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            var ids = IDMaker()
            let tasks = (0..<5).map { _ in ids.next() }
            for id in tasks { try await store.create(storedTask(id: id, name: "job")) }
            // Placed: three on a, one on b; one stays QUEUED with no backend.
            for (id, backend) in zip(tasks, ["a", "a", "a", "b"]) {
                #expect(try await store.compareAndSetState(id: id, from: .queued, to: .initializing, update: TaskUpdate(backend: .set(backend))))
            }
            let inFlight: Set<TESState> = [.initializing, .running, .canceling]
            #expect(try await store.countByBackend(in: inFlight) == ["a": 3, "b": 1])
            // A state change keeps the backend; a task that leaves the counted states is no longer counted.
            #expect(try await store.compareAndSetState(id: tasks[0], from: .initializing, to: .running))
            #expect(try await store.compareAndSetState(id: tasks[1], from: .initializing, to: .systemError))
            #expect(try await store.countByBackend(in: inFlight) == ["a": 2, "b": 1])
            // Placed again elsewhere: back to QUEUED with the backend cleared.
            #expect(try await store.compareAndSetState(id: tasks[3], from: .initializing, to: .queued, update: TaskUpdate(backend: .clear)))
            #expect(try await store.countByBackend(in: inFlight) == ["a": 2])
            #expect(try await store.countByBackend(in: [.queued]) == [:])
            // A failed compare-and-set changes no backend.
            #expect(try await !store.compareAndSetState(id: tasks[4], from: .running, to: .complete, update: TaskUpdate(backend: .set("c"))))
            #expect(try await store.countByBackend(in: [.queued]) == [:])
            // Hidden, as the owner is: the FULL view is the task as stored, and so is a listing.
            let full = try await store.get(id: tasks[2], view: .full)
            var expected = storedTask(id: tasks[2], name: "job")
            expected.creationTime = full.creationTime
            expected.state = .initializing
            #expect(full == expected)
        }
    }

    @Test(arguments: StoreKind.available)
    func ownersSeeOnlyTheirTasksAndTheOwnerIsNeverShown(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            var ids = IDMaker()
            let alices = [ids.next(), ids.next(), ids.next()]
            let bobs = ids.next()
            let nobodys = ids.next()
            for id in alices { try await store.create(storedTask(id: id, name: "job"), secrets: [:], owner: "alice") }
            try await store.create(storedTask(id: bobs, name: "job"), secrets: [:], owner: "bob")
            try await store.create(storedTask(id: nobodys, name: "job"))

            #expect(try await store.get(id: alices[0], view: .full, ownedBy: "alice").id == alices[0])
            for view in TESView.allCases {
                await #expect(throws: TaskStoreError.self) { try await store.get(id: bobs, view: view, ownedBy: "alice") }
            }
            await #expect(throws: TaskStoreError.self) { try await store.get(id: nobodys, view: .minimal, ownedBy: "alice") }
            #expect(try await store.get(id: bobs, view: .minimal).id == bobs)

            var request = TESListRequest(pageSize: 2, view: .basic)
            request.filter.namePrefix = "jo"
            let first = try await store.list(request, ownedBy: "alice")
            #expect(first.tasks.map(\.id) == [alices[2], alices[1]])
            request.afterID = first.nextAfterID
            let second = try await store.list(request, ownedBy: "alice")
            #expect(second.tasks.map(\.id) == [alices[0]])
            #expect(second.nextAfterID == nil)
            #expect(try await store.list(TESListRequest(pageSize: 10, view: .minimal), ownedBy: "bob").tasks.map(\.id) == [bobs])
            #expect(try await store.list(TESListRequest(pageSize: 10, view: .minimal)).tasks.count == 5)

            await #expect(throws: TaskStoreError.self) { try await store.cancel(id: bobs, ownedBy: "alice") }
            #expect(try await store.get(id: bobs, view: .minimal).state == .queued)
            #expect(try await store.cancel(id: bobs, ownedBy: "bob") == .canceled)

            #expect(try await store.owner(id: alices[1]) == "alice")
            #expect(try await store.owner(id: bobs) == "bob")
            #expect(try await store.owner(id: nobodys) == nil)
            await #expect(throws: TaskStoreError.self) { _ = try await store.owner(id: "unknown") }

            // The owner is stored, not shown: a FULL view of an owned task equals the task that was stored.
            let full = try await store.get(id: alices[0], view: .full)
            var expected = storedTask(id: alices[0], name: "job")
            expected.creationTime = full.creationTime
            #expect(full == expected)
        }
    }

    @Test(arguments: StoreKind.available)
    func systemLogsAreAppendedToTheFirstLog(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            var ids = IDMaker()
            let id = ids.next()
            try await store.create(storedTask(id: id))
            try await store.appendSystemLog(id: id, "first")
            try await store.appendSystemLog(id: id, "second")
            let logs = try await store.get(id: id, view: .full).logs
            #expect(logs == [TESTaskLog(systemLogs: ["first", "second"])])
            #expect(try await store.get(id: id, view: .basic).logs == [TESTaskLog()])
        }
    }

    @Test(arguments: StoreKind.available)
    func logsCanBeReplaced(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            var ids = IDMaker()
            let id = ids.next()
            try await store.create(storedTask(id: id))
            let logs = [
                TESTaskLog(
                    logs: [
                        TESExecutorLog(
                            startTime: Date(timeIntervalSince1970: 10.5),
                            endTime: Date(timeIntervalSince1970: 11.25),
                            stdout: "out\n",
                            stderr: "",
                            exitCode: 0
                        )
                    ],
                    startTime: Date(timeIntervalSince1970: 10),
                    endTime: Date(timeIntervalSince1970: 12)
                )
            ]
            try await store.updateLogs(id: id, logs)
            #expect(try await store.get(id: id, view: .full).logs == logs)
        }
    }
}
