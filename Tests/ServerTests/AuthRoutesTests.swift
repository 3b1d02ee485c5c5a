import Auth
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdBcrypt
import HummingbirdTesting
import Logging
import Server
import TaskStore
import Testing

/// The task endpoints behind HTTP Basic and bearer authentication, and who sees which task.
@Suite struct AuthRoutesTests {
    static let users = PasswordAuthenticator(users: [
        "alice": Bcrypt.hash("alice-pw", cost: 4),
        "bob": Bcrypt.hash("bob-pw", cost: 4),
        "root": Bcrypt.hash("root-pw", cost: 4),
    ])

    static func configuration(policy: AccessRules.Policy) -> ServerConfiguration {
        var configuration = testConfiguration
        configuration.authentication = .basic(users, realm: "TESP")
        configuration.access = AccessRules(policy: policy, adminSubjects: ["root"])
        return configuration
    }

    static func basic(_ user: String, _ password: String) -> HTTPFields {
        [.authorization: "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()]
    }

    @Test func taskEndpointsWithoutCredentialsAnswer401WithAChallenge() async throws {
        try await withApp(configuration: Self.configuration(policy: .owner)) { client in
            for (method, uri) in [
                (HTTPRequest.Method.get, "/ga4gh/tes/v1/tasks"), (.post, "/ga4gh/tes/v1/tasks"),
                (.get, "/ga4gh/tes/v1/tasks/X"), (.post, "/v1/tasks/X:cancel"),
            ] {
                let response = try await client.execute(uri: uri, method: method) { $0 }
                expectError(response, .unauthorized, mentioning: "HTTP Basic")
                #expect(response.headers[.wwwAuthenticate] == #"Basic realm="TESP", charset="UTF-8""#)
            }
            let wrong = try await client.execute(uri: "/ga4gh/tes/v1/tasks", method: .get, headers: Self.basic("alice", "bob-pw")) { $0 }
            expectError(wrong, .unauthorized, mentioning: "wrong user name or password")
            #expect(!wrong.text.contains("bob-pw"))
            // What describes the service stays public.
            #expect(try await client.get("/ga4gh/tes/v1/service-info").status == .ok)
            #expect(try await client.get("/ga4gh/tes/v1/openapi.yaml").status == .ok)
            #expect(try await client.get("/healthz").status == .ok)
        }
    }

    @Test func underTheOwnerPolicyOthersTasksDoNotExist() async throws {
        try await withApp(configuration: Self.configuration(policy: .ownerOrAdmin)) { client in
            let alice = Self.basic("alice", "alice-pw")
            let bob = Self.basic("bob", "bob-pw")
            let aliceTask = try await client.createTask(headers: alice)
            let bobTask = try await client.createTask(headers: bob)

            let mine = try await client.execute(uri: "/ga4gh/tes/v1/tasks/\(aliceTask)?view=FULL", method: .get, headers: alice) { $0 }
            #expect(mine.status == .ok)
            #expect(!mine.text.contains("alice"), "the owner must not appear in a task view: \(mine.text)")

            for uri in ["/ga4gh/tes/v1/tasks/\(aliceTask)", "/ga4gh/tes/v1/tasks/\(aliceTask)?view=FULL"] {
                let theirs = try await client.execute(uri: uri, method: .get, headers: bob) { $0 }
                let unknown = try await client.execute(uri: "/ga4gh/tes/v1/tasks/01ZZZZZZZZZZZZZZZZZZZZZZZZ", method: .get, headers: bob) { $0 }
                expectError(theirs, .notFound, mentioning: aliceTask)
                #expect(theirs.status == unknown.status)
            }
            let cancel = try await client.execute(uri: "/ga4gh/tes/v1/tasks/\(aliceTask):cancel", method: .post, headers: bob) { $0 }
            expectError(cancel, .notFound, mentioning: aliceTask)
            let stillQueued = try await client.execute(uri: "/ga4gh/tes/v1/tasks/\(aliceTask)", method: .get, headers: alice) { $0 }
            #expect(stillQueued.json["state"] as? String == "QUEUED")

            #expect(try await client.listedIDs(headers: alice) == [aliceTask])
            #expect(try await client.listedIDs(headers: bob) == [bobTask])
            #expect(try await client.listedIDs(headers: Self.basic("root", "root-pw")) == [bobTask, aliceTask])
            let byAdmin = try await client.execute(uri: "/ga4gh/tes/v1/tasks/\(aliceTask)", method: .get, headers: Self.basic("root", "root-pw")) {
                $0
            }
            #expect(byAdmin.status == .ok)
        }
    }

    @Test func underTheAllPolicyEveryoneSeesEverything() async throws {
        try await withApp(configuration: Self.configuration(policy: .all)) { client in
            let aliceTask = try await client.createTask(headers: Self.basic("alice", "alice-pw"))
            #expect(try await client.listedIDs(headers: Self.basic("bob", "bob-pw")) == [aliceTask])
        }
    }

    @Test func aRefusedBearerTokenGetsRFC6750ErrorFields() async throws {
        struct NoKeys: JWKSSource {
            func fetchJWKS() async throws -> Data { Data(#"{"keys": []}"#.utf8) }
        }
        var configuration = testConfiguration
        let tokens = TokenAuthenticator(
            validation: TokenValidation(issuer: "https://id.example.org", audiences: ["tesp"]),
            keys: NoKeys(),
            logger: Logger(label: "test")
        )
        configuration.authentication = .bearer(tokens, realm: "TESP")
        configuration.access = AccessRules(policy: .owner)
        try await withApp(configuration: configuration) { client in
            let missing = try await client.get("/ga4gh/tes/v1/tasks")
            expectError(missing, .unauthorized, mentioning: "bearer token")
            #expect(missing.headers[.wwwAuthenticate] == #"Bearer realm="TESP""#)
            let bad = try await client.execute(uri: "/ga4gh/tes/v1/tasks", method: .get, headers: [.authorization: "Bearer not-a-jwt"]) { $0 }
            expectError(bad, .unauthorized, mentioning: "not a JWT")
            #expect(
                bad.headers[.wwwAuthenticate]
                    == #"Bearer realm="TESP", error="invalid_token", error_description="the bearer token is not a JWT""#
            )
        }
    }
}

extension TestClientProtocol {
    func createTask(headers: HTTPFields) async throws -> String {
        let response = try await execute(
            uri: "/ga4gh/tes/v1/tasks",
            method: .post,
            headers: headers + [HTTPField(name: .contentType, value: "application/json")],
            body: ByteBuffer(string: #"{"executors": [{"image": "alpine", "command": ["true"]}]}"#)
        ) { $0 }
        #expect(response.status == .ok, "\(response.text)")
        return try #require(response.json["id"] as? String)
    }

    func listedIDs(headers: HTTPFields) async throws -> [String] {
        let response = try await execute(uri: "/ga4gh/tes/v1/tasks", method: .get, headers: headers) { $0 }
        #expect(response.status == .ok, "\(response.text)")
        return (response.json["tasks"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
    }
}
