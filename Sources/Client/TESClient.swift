import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import TES

/// A client of any TES 1.1 server (TESP or another), with TESP's own model types.
public struct TESClient: Sendable {
    /// How to reach and authenticate to the server.
    public struct Configuration: Sendable {
        /// The server's base URL (`http://127.0.0.1:8000`); the API path is added unless the URL has one.
        public var server: String
        /// A bearer token, sent as `Authorization: Bearer …`.
        public var token: String?
        /// HTTP Basic credentials.
        public var user: String?
        public var password: String?
        public var timeout: TimeAmount

        public init(server: String, token: String? = nil, user: String? = nil, password: String? = nil, timeout: TimeAmount = .seconds(30)) {
            self.server = server
            self.token = token
            self.user = user
            self.password = password
            self.timeout = timeout
        }

        /// The API's base: the server URL with `/ga4gh/tes/v1` appended unless it already ends in an API path.
        var apiBase: String {
            let trimmed = server.hasSuffix("/") ? String(server.dropLast()) : server
            return trimmed.hasSuffix("/ga4gh/tes/v1") || trimmed.hasSuffix("/v1") ? trimmed : trimmed + "/ga4gh/tes/v1"
        }
    }

    public let configuration: Configuration
    private let http: HTTPClient

    public init(_ configuration: Configuration, http: HTTPClient) {
        self.configuration = configuration
        self.http = http
    }

    public func serviceInfo() async throws -> TESServiceInfo {
        try decode(TESServiceInfo.self, try await send(.GET, "/service-info"))
    }

    /// Submits a task as JSON (exactly what the user wrote). - Returns: its id.
    public func create(json: Data) async throws -> String {
        try decode(TESCreateTaskResponse.self, try await send(.POST, "/tasks", body: json)).id
    }

    public func create(_ task: TESTask) async throws -> String {
        try await create(json: try TESJSON.makeEncoder().encode(task))
    }

    public func get(id: String, view: TESView = .minimal) async throws -> TESTask {
        try decode(TESTask.self, try await send(.GET, "/tasks/\(Self.escape(id))", query: [("view", view.rawValue)]))
    }

    /// One page of tasks. `tags` pairs with an empty value match any value of the key.
    public func list(
        namePrefix: String? = nil,
        state: TESState? = nil,
        tags: [(String, String)] = [],
        view: TESView = .minimal,
        pageSize: Int? = nil,
        pageToken: String? = nil
    ) async throws -> TESListTasksResponse {
        var query: [(String, String)] = [("view", view.rawValue)]
        if let namePrefix { query.append(("name_prefix", namePrefix)) }
        if let state { query.append(("state", state.rawValue)) }
        for (key, value) in tags {
            query.append(("tag_key", key))
            query.append(("tag_value", value))
        }
        if let pageSize { query.append(("page_size", String(pageSize))) }
        if let pageToken { query.append(("page_token", pageToken)) }
        return try decode(TESListTasksResponse.self, try await send(.GET, "/tasks", query: query))
    }

    public func cancel(id: String) async throws {
        _ = try await send(.POST, "/tasks/\(Self.escape(id)):cancel", body: Data("{}".utf8))
    }

    // MARK: - HTTP

    private func send(
        _ method: HTTPMethod,
        _ path: String,
        query: [(String, String)] = [],
        body: Data? = nil
    ) async throws
        -> ByteBuffer
    {
        var components = URLComponents()
        components.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) }
        let encoded = (components.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
        var request = HTTPClientRequest(url: configuration.apiBase + path + (encoded.isEmpty ? "" : "?" + encoded))
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: body))
        }
        if let token = configuration.token, !token.isEmpty {
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
        } else if let user = configuration.user {
            let basic = Data("\(user):\(configuration.password ?? "")".utf8).base64EncodedString()
            request.headers.add(name: "Authorization", value: "Basic \(basic)")
        }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: configuration.timeout)
        } catch {
            if Task.isCancelled || error is CancellationError || (error as? HTTPClientError) == .cancelled {
                throw CancellationError()
            }
            throw TESClientError(status: nil, message: "cannot reach \(configuration.server): \(error)")
        }
        let bytes = try await response.body.collect(upTo: 256 * 1024 * 1024)
        guard (200..<300).contains(response.status.code) else {
            struct ErrorBody: Decodable { let message: String }
            let message =
                (try? JSONDecoder().decode(ErrorBody.self, from: Data(buffer: bytes)))?.message
                ?? String(buffer: bytes).prefix(500).description
            throw TESClientError(status: Int(response.status.code), message: message)
        }
        return bytes
    }

    private func decode<T: Decodable>(_ type: T.Type, _ bytes: ByteBuffer) throws -> T {
        do {
            return try TESJSON.makeDecoder().decode(T.self, from: Data(buffer: bytes))
        } catch {
            throw TESClientError(status: nil, message: "the server's answer could not be read: \(error)")
        }
    }

    private static func escape(_ id: String) -> String {
        id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/:"))) ?? id
    }
}

/// A failed client call: the HTTP status (if the server answered) and the server's message.
public struct TESClientError: Error, Sendable, CustomStringConvertible {
    public let status: Int?
    public let message: String

    public init(status: Int?, message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { status.map { "\($0): \(message)" } ?? message }
}
