import Foundation
import Hummingbird
import HummingbirdTesting
import Server
import TES
import TaskStore
import Testing

let testConfiguration = ServerConfiguration(
    maxBodyBytes: 512 * 1024,
    limits: TESValidationLimits(maxExecutors: 50, supportedBackendParameters: ["VmSize"]),
    serviceInfo: TESServiceInfo(
        id: "org.example.tesp",
        name: "TESP test",
        organization: .init(name: "Example", url: "https://example.org"),
        version: "9.9.9",
        storage: ["ftp://ftp.example.org/"],
        backendParameters: ["VmSize"]
    )
)

/// Runs `body` against the router over an in-memory store, in process.
func withApp(
    store: some TaskStore = InMemoryTaskStore(),
    configuration: ServerConfiguration = testConfiguration,
    _ body: @Sendable (any TestClientProtocol) async throws -> Void
) async throws {
    let app = Application(router: buildRouter(store: store, configuration: configuration))
    try await app.test(.router, body)
}

extension TestResponse {
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
    }

    var text: String { String(buffer: body) }
}

extension TestClientProtocol {
    func post(_ uri: String, json: String, headers: HTTPFields = [.contentType: "application/json"]) async throws -> TestResponse {
        try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: json)) { $0 }
    }

    func get(_ uri: String) async throws -> TestResponse {
        try await execute(uri: uri, method: .get) { $0 }
    }

    /// Creates a task and returns its id.
    func createTask(_ json: String = #"{"executors": [{"image": "alpine", "command": ["true"]}]}"#) async throws -> String {
        let response = try await post("/ga4gh/tes/v1/tasks", json: json)
        #expect(response.status == .ok, "\(response.text)")
        return try #require(response.json["id"] as? String)
    }
}

/// The API's one error shape, checked in full.
func expectError(_ response: TestResponse, _ status: HTTPResponse.Status, mentioning needle: String) {
    #expect(response.status == status, "\(response.text)")
    let json = response.json
    #expect(Set(json.keys) == ["code", "message"], "\(response.text)")
    #expect(json["code"] as? Int == status.code)
    let message = json["message"] as? String ?? ""
    #expect(message.contains(needle), "\(message)")
    #expect(response.headers[.contentType] == "application/json")
}
