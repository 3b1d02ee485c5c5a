import Foundation
import JobScript
import Logging
@testable import Pulsar
import TES
import Testing
import Transfer

@testable import Engine

/// `staging = "pulsar"`: which inputs Pulsar fetches itself, what the submit asks of it, and how a failed fetch
/// reads; against a fake Pulsar.
@Suite struct PulsarSideStagingTests {
    let logger = Logger(label: "test")

    private func backend(_ pulsar: FakePulsarJobs, credentials: [StorageURL] = []) -> any ComputeBackend {
        let transfers = Transfers(Transfers.Configuration(credentials: credentials), logger: logger)
        let factory = BackendFactory(configuration: EngineConfiguration(runtime: .init(kind: .bwrap)), transfers: transfers)
        return factory.pulsarREST(pulsar, staging: .pulsar(trusted: false))
    }

    private let inputs = [
        TESInput(url: "https://data.example.org/ref.fa", path: "/data/ref.fa"),  // 0: Pulsar fetches it
        TESInput(path: "/data/note.txt", content: "hello"),  // 1: travels with the job
        TESInput(url: "https://alice@data.example.org/private.fa", path: "/data/private.fa"),  // 2: a password
        TESInput(url: "https://bucket.s3.amazonaws.com/k?X-Amz-Signature=***", path: "/data/signed"),  // 3: a signed URL
        TESInput(url: "https://data.example.org/dir", path: "/data/dir", type: .directory),  // 4: TESP lists it
        TESInput(url: "http://169.254.169.254/latest/meta-data", path: "/data/meta"),  // 5: a denied network
        TESInput(url: "https://secure.example.org/x", path: "/data/x"),  // 6: TESP holds credentials there
        TESInput(url: "ftp://ftp.example.org/x", path: "/data/ftp"),  // 7: not http(s)
    ]

    @Test func onlyPlainHTTPFileInputsWithoutSecretsAreLeftToPulsar() throws {
        let transfers = Transfers(Transfers.Configuration(credentials: [StorageURL("https://u:p@secure.example.org")!]), logger: logger)
        let factory = BackendFactory(configuration: EngineConfiguration(runtime: .init(kind: .bwrap)), transfers: transfers)
        let staging = try #require((factory.pulsarREST(FakePulsarJobs(name: "p"), staging: .pulsar(trusted: false)) as? PulsarRESTBackend)?.staging)
        let secrets = [
            "https://data.example.org#alice": "pw",
            "?https://bucket.s3.amazonaws.com/k": "X-Amz-Signature=abc",
        ]
        let job = BackendJob(task: TESTask(id: "t1", inputs: inputs, executors: [TESExecutor(image: "alpine", command: ["true"])]), secrets: secrets)
        let remote = staging.remoteInputs(of: job)
        #expect(remote.map(\.index) == [0])
        #expect(remote.first?.input == PulsarRemoteInput(name: "input-0", url: "https://data.example.org/ref.fa"))
    }

    @Test func withAPublicURLInputsThatNeedASecretAreFetchedFromTESPAndNeverHoldIt() throws {
        let transfers = Transfers(Transfers.Configuration(credentials: [StorageURL("https://u:p@secure.example.org")!]), logger: logger)
        var configuration = EngineConfiguration(runtime: .init(kind: .bwrap))
        let served = ServedInputURLs(baseURL: "https://tesp.example.org/", key: Array("key".utf8), lifetimeSeconds: 600)
        configuration.servedInputs = served
        let factory = BackendFactory(configuration: configuration, transfers: transfers)
        let staging = try #require((factory.pulsarREST(FakePulsarJobs(name: "p"), staging: .pulsar(trusted: false)) as? PulsarRESTBackend)?.staging)
        // Not hex: a signature cannot contain them by chance.
        let secrets = ["https://data.example.org#alice": "pw-zq", "?https://bucket.s3.amazonaws.com/k": "X-Amz-Signature=sig-zq"]
        let job = BackendJob(task: TESTask(id: "t7", inputs: inputs, executors: [TESExecutor(image: "alpine", command: ["true"])]), secrets: secrets)
        let remote = staging.remoteInputs(of: job)
        // 0 from its source; 2 (a password), 3 (a signed query), 5 (TESP refuses it when asked) and 6 (TESP's
        // credentials) from TESP; 1 travels with the job, 4 is a directory TESP lists, 7 the job script fetches.
        #expect(remote.map(\.index) == [0, 2, 3, 5, 6])
        for (index, input) in remote.dropFirst() {
            #expect(input.url.hasPrefix("https://tesp.example.org/staging/v1/tasks/t7/inputs/\(index)?expires="))
            let query = try #require(URLComponents(string: input.url)?.queryItems)
            let expires = try #require(query.first { $0.name == "expires" }?.value.flatMap { Int($0) })
            let signature = try #require(query.first { $0.name == "signature" }?.value)
            #expect(served.isValid(taskID: "t7", input: index, expires: expires, signature: signature, now: Date()))
            #expect(!served.isValid(taskID: "t7", input: index + 1, expires: expires, signature: signature, now: Date()))
            #expect(!served.isValid(taskID: "t8", input: index, expires: expires, signature: signature, now: Date()))
            #expect(!served.isValid(taskID: "t7", input: index, expires: expires, signature: signature, now: Date(timeIntervalSinceNow: 601)))
        }
        let handedOver = remote.map(\.input.url).joined(separator: " ")
        #expect(!handedOver.contains("zq") && !handedOver.contains("u:p"))
    }

    @Test func aTrustedBackendGetsTheLoginOfAnInputInAFileOfItsOwnNeverInTheScript() async throws {
        let transfers = Transfers(Transfers.Configuration(credentials: [StorageURL("ftp://bob:tesp-held-zq@ftp.example.org")!]), logger: logger)
        let factory = BackendFactory(configuration: EngineConfiguration(runtime: .init(kind: .bwrap)), transfers: transfers)
        let pulsar = FakePulsarJobs(name: "p")
        let task = TESTask(
            id: "t9",
            inputs: [
                TESInput(url: "ftp://alice@ftp.example.org/a.fa", path: "/data/a.fa"),  // 0: the task's own password
                TESInput(url: "ftp://ftp.example.org/b.fa", path: "/data/b.fa"),  // 1: TESP's login for the server
                TESInput(url: "ftp://ftp.other.example/c.fa", path: "/data/c.fa"),  // 2: anonymous: no login
            ],
            executors: [TESExecutor(image: "alpine", command: ["true"])]
        )
        let job = BackendJob(task: task, secrets: [TaskCredentials.key(for: StorageURL("ftp://alice@ftp.example.org/a.fa")!): "task-pw-zq"])
        let trusted = factory.pulsarREST(pulsar, staging: .pulsar(trusted: true))
        try await trusted.prepare(job, logger: logger)
        #expect(await pulsar.file("tesp-t9", "tesp-login-0", type: .input) == JobScript.curlCredentials(user: "alice", password: "task-pw-zq"))
        #expect(await pulsar.file("tesp-t9", "tesp-login-1", type: .input) == JobScript.curlCredentials(user: "bob", password: "tesp-held-zq"))
        #expect(await pulsar.file("tesp-t9", "tesp-login-2", type: .input) == nil)
        let script = try #require(await pulsar.file("tesp-t9", PulsarRESTBackend.jobScriptName, type: .config))
        #expect(script.contains("'ftp://ftp.example.org/a.fa'") && script.contains("/tesp-login-0'"))
        #expect(!script.contains("zq") && !script.contains("alice@"))
        // Untrusted: no login leaves TESP (those inputs go through it); the anonymous one is fetched there alone.
        let untrusted = try #require((factory.pulsarREST(FakePulsarJobs(name: "q"), staging: .pulsar(trusted: false)) as? PulsarRESTBackend)?.staging as? PulsarSideStaging)
        #expect(untrusted.routes(of: job).map(\.index) == [2])
        #expect(untrusted.routes(of: job).first?.route == .scriptFetches(url: "ftp://ftp.other.example/c.fa", login: nil))
    }

    @Test func withANetrcFileEveryURLGoesThroughTESP() throws {
        // A netrc file may hold credentials for any host: none of them is handed to Pulsar.
        let transfers = Transfers(Transfers.Configuration(netrcFile: "/etc/tesp/netrc"), logger: logger)
        let factory = BackendFactory(configuration: EngineConfiguration(runtime: .init(kind: .bwrap)), transfers: transfers)
        let staging = try #require((factory.pulsarREST(FakePulsarJobs(name: "p"), staging: .pulsar(trusted: false)) as? PulsarRESTBackend)?.staging)
        let job = BackendJob(task: TESTask(id: "t4", inputs: Array(inputs.prefix(1)), executors: [TESExecutor(image: "alpine", command: ["true"])]))
        #expect(staging.remoteInputs(of: job).isEmpty)
    }

    @Test func theSubmitAsksPulsarToFetchWhatTESPDidNotUpload() async throws {
        let pulsar = FakePulsarJobs(name: "p")
        let backend = backend(pulsar)
        let task = TESTask(id: "t2", inputs: Array(inputs.prefix(2)), executors: [TESExecutor(image: "alpine", command: ["cat", "/data/ref.fa"])])
        let job = BackendJob(task: task)
        try await backend.prepare(job, logger: logger)
        // The content input was uploaded, the URL input was not...
        #expect(await pulsar.file("tesp-t2", "content-1", type: .input) == "hello")
        #expect(await pulsar.file("tesp-t2", "input-0", type: .input) == nil)
        // ...but the job script places it from where Pulsar will put it.
        let script = try #require(await pulsar.file("tesp-t2", PulsarRESTBackend.jobScriptName, type: .config))
        #expect(script.contains("input-0") && script.contains("/data/ref.fa"))
        _ = try await backend.submit(job, logger: logger)
        #expect(await pulsar.jobs["tesp-t2"]?.remoteInputs == [PulsarRemoteInput(name: "input-0", url: "https://data.example.org/ref.fa")])
    }

    @Test func aFetchThatFailedOnPulsarNamesTheInputAndItsURL() async throws {
        let pulsar = FakePulsarJobs(name: "p")
        let backend = backend(pulsar)
        let task = TESTask(id: "t3", inputs: Array(inputs.prefix(1)), executors: [TESExecutor(image: "alpine", command: ["true"])])
        let job = BackendJob(task: task)
        try await backend.prepare(job, logger: logger)
        _ = try await backend.submit(job, logger: logger)
        // What Pulsar 0.16 leaves after a failed preprocessing: state failed, return code 1, the error in `stderr`.
        await pulsar.setState(
            "tesp-t3", .failed, finished: true, returnCode: 1,
            pulsarStderr: "404 Client Error: NOT FOUND for url: https://data.example.org/ref.fa"
        )
        let outcome = try await backend.collect(job, logger: logger)
        #expect(
            outcome == .systemError(
                "inputs[0]: Pulsar 'p' could not fetch https://data.example.org/ref.fa: 404 Client Error: NOT FOUND for url: https://data.example.org/ref.fa",
                executors: []
            )
        )
    }

    private func staging(_ s3: S3Configuration, trusted: Bool) throws -> any PulsarStaging {
        let transfers = Transfers(Transfers.Configuration(s3: s3), logger: logger)
        let factory = BackendFactory(configuration: EngineConfiguration(runtime: .init(kind: .bwrap)), transfers: transfers)
        return try #require((factory.pulsarREST(FakePulsarJobs(name: "p"), staging: .pulsar(trusted: trusted)) as? PulsarRESTBackend)?.staging)
    }

    private let s3Job = BackendJob(
        task: TESTask(id: "t5", inputs: [TESInput(url: "s3://data/ref.fa", path: "/data/ref.fa")], executors: [TESExecutor(image: "alpine", command: ["true"])])
    )

    @Test func anS3InputIsPresignedForATrustedBackendOnlyAndUnsignedWithoutKeys() throws {
        let keys = S3Configuration(endpoint: "http://127.0.0.1:9", accessKeyID: "AK", secretAccessKey: "SK")
        #expect(try staging(keys, trusted: false).remoteInputs(of: s3Job).isEmpty)
        let signed = try #require(try staging(keys, trusted: true).remoteInputs(of: s3Job).first)
        #expect(signed.index == 0 && signed.input.name == "input-0")
        #expect(signed.input.url.hasPrefix("http://127.0.0.1:9/data/ref.fa?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F"))
        let anonymous = try staging(S3Configuration(endpoint: "http://127.0.0.1:9"), trusted: false).remoteInputs(of: s3Job)
        #expect(anonymous.map(\.input.url) == ["http://127.0.0.1:9/data/ref.fa"])
    }

    @Test func fileOutputsToURLsThePulsarHostCanWriteAloneAreSentByTheJobScript() throws {
        let keys = S3Configuration(endpoint: "http://127.0.0.1:9", accessKeyID: "AK", secretAccessKey: "SK")
        let outputs = [
            TESOutput(url: "s3://data/out/a.txt", path: "/data/a.txt"),  // 0: pre-signed PUT, trusted only
            TESOutput(url: "https://put.example.org/b.txt", path: "/data/b.txt"),  // 1: plain
            TESOutput(url: "ftp://u:pw@ftp.example.org/c.txt", path: "/data/c.txt"),  // 2: a password
            TESOutput(url: "s3://data/dir", path: "/data/dir", type: .directory),  // 3: keys not known in advance
            TESOutput(url: "s3://data/vcf", path: "/data/*.vcf", pathPrefix: "/data"),  // 4: a wildcard
        ]
        let job = BackendJob(task: TESTask(id: "t6", outputs: outputs, executors: [TESExecutor(image: "alpine", command: ["true"])]))
        let trusted = try staging(keys, trusted: true).sentOutputs(of: job)
        #expect(trusted.keys.sorted() == [0, 1])
        #expect(trusted[0]?.url.hasPrefix("http://127.0.0.1:9/data/out/a.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&") == true)
        #expect(trusted[0]?.url.contains("&X-Amz-Expires=604800&") == true)
        // One pre-signed PUT carries at most 5 GiB; a larger file is left for TESP, which uploads in parts.
        #expect(trusted[0]?.maximumBytes == Int64(5 << 30))
        #expect(trusted[1] == JobScript.SentOutput(url: "https://put.example.org/b.txt"))
        #expect(try staging(keys, trusted: false).sentOutputs(of: job) == [1: JobScript.SentOutput(url: "https://put.example.org/b.txt")])
    }

    @Test func aFailedFetchOfAPresignedURLNamesTheTasksOwnURL() async throws {
        let keys = S3Configuration(endpoint: "http://127.0.0.1:9", accessKeyID: "AK", secretAccessKey: "SK")
        let line = try #require(await staging(keys, trusted: true).explainFailedFetch(s3Job, on: "p", detail: ""))
        #expect(line.hasPrefix("inputs[0]: Pulsar 'p' could not fetch s3://data/ref.fa (checked from TESP: "))
        #expect(!line.contains("X-Amz") && !line.contains("SK"))
    }

    @Test func theRemoteStagingParameterHasTheShapePulsarReads() throws {
        let text = try PulsarClient.remoteStaging([PulsarRemoteInput(name: "input-0", url: "https://h/a b")])
        let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        let setup = try #require(parsed?["setup"] as? [[String: Any]])
        #expect(setup.count == 1)
        #expect(setup[0]["name"] as? String == "input-0")
        #expect(setup[0]["type"] as? String == "input")
        let action = try #require(setup[0]["action"] as? [String: Any])
        #expect(action["action_type"] as? String == "remote_transfer")
        #expect(action["url"] as? String == "https://h/a b")
        #expect((action["source"] as? [String: Any])?["path"] as? String == "input-0")
    }
}
