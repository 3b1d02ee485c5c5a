import Foundation
import Hummingbird
import HummingbirdTesting
import Server
import TES
import TaskStore
import Testing

@Suite struct TaskRoutesTests {
    @Test func createStoresAQueuedTaskWithServerFields() async throws {
        try await withApp { client in
            let before = Date()
            let id = try await client.createTask(
                #"{"id": "mine", "state": "COMPLETE", "logs": [{"logs": []}], "creation_time": "2000-01-01T00:00:00Z", "executors": [{"image": "a", "command": ["b"]}]}"#
            )
            #expect(id != "mine" && TESTaskID.isWellFormed(id))
            let full = try await client.get("/ga4gh/tes/v1/tasks/\(id)?view=FULL").json
            #expect(full["state"] as? String == "QUEUED")
            #expect((full["logs"] as? [Any])?.isEmpty == true)
            let created = try #require(TESTime.parse(full["creation_time"] as? String ?? ""))
            #expect(created >= before.addingTimeInterval(-1) && created <= Date().addingTimeInterval(1))
        }
    }

    @Test func viewsShowWhatTheSpecSays() async throws {
        try await withApp { client in
            let id = try await client.createTask(
                #"{"name": "n", "inputs": [{"path": "/in", "content": "data"}], "executors": [{"image": "a", "command": ["b"]}]}"#
            )
            let minimal = try await client.get("/ga4gh/tes/v1/tasks/\(id)").json
            #expect(Set(minimal.keys) == ["id", "state"])
            #expect(Set(try await client.get("/ga4gh/tes/v1/tasks/\(id)?view=MINIMAL").json.keys) == ["id", "state"])
            let basic = try await client.get("/ga4gh/tes/v1/tasks/\(id)?view=BASIC").json
            #expect(basic["name"] as? String == "n")
            #expect(((basic["inputs"] as? [[String: Any]])?.first?["content"]) == nil)
            let full = try await client.get("/ga4gh/tes/v1/tasks/\(id)?view=FULL").json
            #expect(((full["inputs"] as? [[String: Any]])?.first?["content"]) as? String == "data")
            expectError(try await client.get("/ga4gh/tes/v1/tasks/\(id)?view=ALL"), .badRequest, mentioning: "view")
        }
    }

    @Test func unknownTasksAre404() async throws {
        try await withApp { client in
            expectError(try await client.get("/ga4gh/tes/v1/tasks/nope"), .notFound, mentioning: "nope")
            let cancel = try await client.execute(uri: "/ga4gh/tes/v1/tasks/nope:cancel", method: .post) { $0 }
            expectError(cancel, .notFound, mentioning: "nope")
        }
    }

    @Test func cancelAnswersAnEmptyObjectAndMovesTheState() async throws {
        try await withApp { client in
            let id = try await client.createTask()
            let response = try await client.execute(uri: "/ga4gh/tes/v1/tasks/\(id):cancel", method: .post, body: ByteBuffer(string: "{}")) { $0 }
            #expect(response.status == .ok)
            #expect(response.text == "{}")
            #expect(try await client.get("/ga4gh/tes/v1/tasks/\(id)").json["state"] as? String == "CANCELED")
            // Canceling a terminal task changes nothing and still succeeds.
            let again = try await client.execute(uri: "/v1/tasks/\(id):cancel", method: .post) { $0 }
            #expect(again.status == .ok)
            #expect(try await client.get("/v1/tasks/\(id)").json["state"] as? String == "CANCELED")
        }
    }

    @Test func cancelOfARunningTaskMovesItToCanceling() async throws {
        let store = InMemoryTaskStore()
        try await withApp(store: store) { client in
            let id = try await client.createTask()
            #expect(try await store.compareAndSetState(id: id, from: .queued, to: .initializing))
            #expect(try await store.compareAndSetState(id: id, from: .initializing, to: .running))
            _ = try await client.execute(uri: "/ga4gh/tes/v1/tasks/\(id):cancel", method: .post) { $0 }
            #expect(try await client.get("/ga4gh/tes/v1/tasks/\(id)").json["state"] as? String == "CANCELING")
        }
    }

    @Test func listPagesNewestFirstAndOmitsTheLastToken() async throws {
        try await withApp { client in
            var ids: [String] = []
            for index in 0..<5 {
                ids.append(try await client.createTask(#"{"name": "job \#(index)", "executors": [{"image": "a", "command": ["b"]}]}"#))
            }
            let first = try await client.get("/ga4gh/tes/v1/tasks?page_size=2").json
            #expect((first["tasks"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [ids[4], ids[3]])
            let token = try #require(first["next_page_token"] as? String)
            let second = try await client.get("/ga4gh/tes/v1/tasks?page_size=2&page_token=\(token)").json
            #expect((second["tasks"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [ids[2], ids[1]])
            let lastToken = try #require(second["next_page_token"] as? String)
            let last = try await client.get("/ga4gh/tes/v1/tasks?page_size=2&page_token=\(lastToken)")
            #expect(Set(last.json.keys) == ["tasks"])
            #expect(!last.text.contains("next_page_token"))
        }
    }

    @Test func listFiltersByNamePrefixStateAndTags() async throws {
        try await withApp { client in
            let tagged = try await client.createTask(
                #"{"name": "align sample", "tags": {"project": "x", "run": "1"}, "executors": [{"image": "a", "command": ["b"]}]}"#
            )
            _ = try await client.createTask(#"{"name": "alignment", "executors": [{"image": "a", "command": ["b"]}]}"#)
            func ids(_ query: String) async throws -> [String] {
                let json = try await client.get("/ga4gh/tes/v1/tasks?\(query)").json
                return (json["tasks"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
            }
            #expect(try await ids("name_prefix=align+s") == [tagged])
            #expect(try await ids("name_prefix=align%20s") == [tagged])
            #expect(try await ids("name_prefix=align").count == 2)
            #expect(try await ids("tag_key=project&tag_value=x") == [tagged])
            #expect(try await ids("tag_key=project&tag_key=run&tag_value=x") == [tagged])
            #expect(try await ids("tag_key=project&tag_value=y") == [])
            #expect(try await ids("state=QUEUED").count == 2)
            #expect(try await ids("state=RUNNING") == [])
            let basic = try await client.get("/ga4gh/tes/v1/tasks?view=BASIC&name_prefix=alignm").json
            #expect((basic["tasks"] as? [[String: Any]])?.first?["name"] as? String == "alignment")
            expectError(try await client.get("/ga4gh/tes/v1/tasks?state=DONE"), .badRequest, mentioning: "state")
            expectError(try await client.get("/ga4gh/tes/v1/tasks?page_size=-3"), .badRequest, mentioning: "page_size")
            expectError(try await client.get("/ga4gh/tes/v1/tasks?page_token=None"), .badRequest, mentioning: "page_token")
        }
    }

    @Test func badBodiesGetA400NamingTheField() async throws {
        try await withApp { client in
            let cases: [(String, String)] = [
                ("{not json", "request body"),
                ("", "request body"),
                ("[]", "request body"),
                (#"{"name": "no executors"}"#, "executors"),
                (#"{"executors": []}"#, "executors"),
                (#"{"executors": [{"command": ["ls"]}]}"#, "executors[0].image"),
                (#"{"executors": [{"image": "a", "command": []}]}"#, "executors[0].command"),
                (#"{"executors": [{"image": "a", "command": "ls"}]}"#, "executors[0].command"),
                (#"{"executors": [{"image": "a", "command": ["b"], "workdir": "rel"}]}"#, "executors[0].workdir"),
                (
                    #"{"inputs": [{"path": "/data/../etc/passwd", "url": "ftp://h/x"}], "executors": [{"image": "a", "command": ["b"]}]}"#,
                    "inputs[0].path"
                ),
                (#"{"inputs": [{"path": "/a"}], "executors": [{"image": "a", "command": ["b"]}]}"#, "inputs[0]"),
                (#"{"outputs": [{"path": "/a"}], "executors": [{"image": "a", "command": ["b"]}]}"#, "outputs[0].url"),
                (#"{"volumes": ["//v"], "executors": [{"image": "a", "command": ["b"]}]}"#, "volumes[0]"),
                (#"{"resources": {"cpu_cores": -2}, "executors": [{"image": "a", "command": ["b"]}]}"#, "resources.cpu_cores"),
                (#"{"resources": {"ram_gb": 1e300}, "executors": [{"image": "a", "command": ["b"]}]}"#, "resources.ram_gb"),
                (
                    #"{"resources": {"backend_parameters": {"gpu": "1"}, "backend_parameters_strict": true}, "executors": [{"image": "a", "command": ["b"]}]}"#,
                    "resources.backend_parameters"
                ),
                (#"{"executors": [{"image": "a", "command": ["b"]}], "tags": {"k": 5}}"#, "tags.k"),
                (String(repeating: "[", count: 100_000), "request body"),
            ]
            for (body, field) in cases {
                expectError(try await client.post("/ga4gh/tes/v1/tasks", json: body), .badRequest, mentioning: field)
            }
            let invalidUTF8 = ByteBuffer(bytes: Array(#"{"name": ""#.utf8) + [0xFF, 0xFE] + Array(#"", "executors": []}"#.utf8))
            let response = try await client.execute(
                uri: "/ga4gh/tes/v1/tasks", method: .post, headers: [.contentType: "application/json"], body: invalidUTF8
            ) { $0 }
            expectError(response, .badRequest, mentioning: "request body")
            // Nothing was stored for any of them.
            #expect((try await client.get("/ga4gh/tes/v1/tasks").json["tasks"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func bodiesOverTheLimitGet413ButLargeContentFits() async throws {
        try await withApp { client in
            let content = String(repeating: "a", count: 128 * 1024)
            let fits = #"{"inputs": [{"path": "/in", "content": "\#(content)"}], "executors": [{"image": "a", "command": ["b"]}]}"#
            let id = try await client.createTask(fits)
            let full = try await client.get("/ga4gh/tes/v1/tasks/\(id)?view=FULL").json
            #expect(((full["inputs"] as? [[String: Any]])?.first?["content"] as? String)?.count == 128 * 1024)
            let tooBig = String(repeating: " ", count: 600 * 1024) + "{}"
            expectError(try await client.post("/ga4gh/tes/v1/tasks", json: tooBig), .contentTooLarge, mentioning: "larger")
        }
    }

    @Test func unsupportedBackendParametersAreDroppedWithASystemLog() async throws {
        try await withApp { client in
            let id = try await client.createTask(
                #"{"resources": {"backend_parameters": {"vmsize": "big", "gpu": "1"}}, "executors": [{"image": "a", "command": ["b"]}]}"#
            )
            let full = try await client.get("/ga4gh/tes/v1/tasks/\(id)?view=FULL").json
            let resources = try #require(full["resources"] as? [String: Any])
            #expect(resources["backend_parameters"] as? [String: String] == ["VmSize": "big"])
            let log = try #require((full["logs"] as? [[String: Any]])?.first)
            #expect((log["system_logs"] as? [String])?.first?.contains("gpu") == true)
        }
    }

    @Test func theV1AliasServesTheSameAPI() async throws {
        try await withApp { client in
            let response = try await client.post("/v1/tasks", json: #"{"executors": [{"image": "a", "command": ["b"]}]}"#)
            let id = try #require(response.json["id"] as? String)
            #expect(try await client.get("/ga4gh/tes/v1/tasks/\(id)").status == .ok)
            #expect(try await client.get("/v1/service-info").status == .ok)
        }
    }

    @Test func anUnreachableStoreGives503() async throws {
        let store = try MongoTaskStore(
            .init(uri: "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=200&connectTimeoutMS=200", database: "d", collection: "c"),
            logger: .init(label: "test")
        )
        try await withApp(store: store) { client in
            expectError(try await client.get("/ga4gh/tes/v1/tasks/x"), .serviceUnavailable, mentioning: "unavailable")
            expectError(
                try await client.post("/ga4gh/tes/v1/tasks", json: #"{"executors": [{"image": "a", "command": ["b"]}]}"#),
                .serviceUnavailable,
                mentioning: "unavailable"
            )
            expectError(try await client.get("/ga4gh/tes/v1/tasks"), .serviceUnavailable, mentioning: "unavailable")
        }
        try await store.close()
    }
}

@Suite struct PlacementAtCreationTests {
    @Test func aTaskNoBackendCanRunIsA400NamingTheFieldAndIsNotStored() async throws {
        var configuration = testConfiguration
        configuration.placementProblem = { task in
            (task.resources?.cpuCores ?? 0) > 64 ? TESValidationError.Problem(field: "resources", message: "no backend has room for one job of 128 CPU cores") : nil
        }
        let store = InMemoryTaskStore()
        try await withApp(store: store, configuration: configuration) { client in
            let refused = try await client.post(
                "/ga4gh/tes/v1/tasks",
                json: #"{"resources": {"cpu_cores": 128}, "executors": [{"image": "alpine", "command": ["true"]}]}"#
            )
            expectError(refused, .badRequest, mentioning: "resources")
            _ = try await client.createTask()
        }
        #expect(try await store.list(TESListRequest(pageSize: 10)).tasks.count == 1)
    }
}
