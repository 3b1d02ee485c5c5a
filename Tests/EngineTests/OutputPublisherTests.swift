import Foundation
import Logging
import JobScript
import Pulsar
import Transfer
import TES
import Testing

@testable import Engine

@Suite struct OutputPublisherTests {
    @Test func filesDirectoriesAndWildcardsMapToTheirURLs() {
        let file = TESOutput(url: "ftp://h/results/outfile-1", path: "/data/outfile")
        #expect(OutputPublisher.destination(of: "/data/outfile", for: file)?.text == "ftp://h/results/outfile-1")
        let directory = TESOutput(url: "ftp://h/run1/", path: "/data/out", type: .directory)
        #expect(OutputPublisher.destination(of: "/data/out/sub/a.txt", for: directory)?.text == "ftp://h/run1/sub/a.txt")
        let wildcard = TESOutput(url: "ftp://h/vcf", path: "/work/*/calls.vcf", pathPrefix: "/work")
        #expect(OutputPublisher.destination(of: "/work/s1/calls.vcf", for: wildcard)?.text == "ftp://h/vcf/s1/calls.vcf")
    }

    @Test func theJobsOutputListIsRead() {
        let text = """
            {"output":0,"path":"L2RhdGEvb3V0","size":12}
            {"output":1,"missing":"L25vcGU="}
            {"output":3,"refused":"L2RhdGEvbGluaw=="}
            {"output":4,"path":"L2RhdGEvYQ==","size":3}
            {"output":4,"sent":true}
            {"output":5,"unsent":"Y3VybDogKDIyKSA0MDM="}
            {"output":2,"pa
            """
        let (matches, missing, refused, sent, unsent) = OutputPublisher.parse(Data(text.utf8))
        #expect(sent == [4] && unsent == [5: "curl: (22) 403"])
        #expect(matches == [OutputPublisher.Match(output: 0, path: "/data/out", size: 12), OutputPublisher.Match(output: 4, path: "/data/a", size: 3)])
        #expect(missing.map(\.output) == [1] && missing.map(\.path) == ["/nope"])
        #expect(refused.map(\.output) == [3] && refused.map(\.path) == ["/data/link"])
    }

    @Test func aListedPathOutsideItsOutputHasNoDestination() {
        let directory = TESOutput(url: "ftp://h/run1/", path: "/data/out", type: .directory)
        #expect(OutputPublisher.destination(of: "/data/outside/a.txt", for: directory) == nil)
        #expect(OutputPublisher.destination(of: "/data/out/../../etc/passwd", for: directory) == nil)
        #expect(OutputPublisher.destination(of: "/data/out", for: directory) == nil)
        // Byte-level: a combining mark after the '/' does not hide the path's real parts.
        #expect(OutputPublisher.destination(of: "/data/out/\u{301}x", for: directory)?.path == "/run1/\u{301}x")
    }

    @Test func aPresignedOutputURLGetsItsRealQueryBack() throws {
        let output = TESOutput(url: "https://s3.example/b/key?X-Amz-Signature=***&X-Amz-Date=1", path: "/data/o")
        let secrets = ["?https://s3.example/b/key": "X-Amz-Signature=abc&X-Amz-Date=1"]
        let destination = try #require(OutputPublisher.destination(of: "/data/o", for: output, secrets: secrets))
        #expect(destination.text == "https://s3.example/b/key?X-Amz-Signature=abc&X-Amz-Date=1")
        #expect(destination.description == "https://s3.example/b/key?X-Amz-Signature=***&X-Amz-Date=1")
    }
}

/// Publishing against a fake Pulsar and real local-file storage.
@Suite struct OutputPublishingTests {
    static func publisher(staging: String, allowed: String) -> OutputPublisher {
        let transfers = Transfers(.init(allowedFileDirectories: [allowed]), logger: Logger(label: "test"))
        return OutputPublisher(
            transfers: transfers,
            stagingDirectory: staging,
            parallelTransfers: 2,
            ownerSlots: OwnerTransferSlots(perOwner: 0),
            limits: TransferLimits()
        )
    }

    static func manifestLine(output: Int, path: String, size: Int64) -> String {
        "{\"output\":\(output),\"path\":\"\(Data(path.utf8).base64EncodedString())\",\"size\":\(size)}\n"
    }

    @Test func filesGoFromTheJobToTheirURLs() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tesp-publish-\(UUID())")
        let results = directory.appendingPathComponent("results")
        try FileManager.default.createDirectory(at: results, withIntermediateDirectories: true)
        let pulsar = FakePulsarJobs(name: "p1")
        _ = try await pulsar.setup(jobID: "j1")
        await pulsar.write("j1", JobScript.outputsPath, Self.manifestLine(output: 0, path: "/data/out.txt", size: 6))
        await pulsar.write("j1", JobScript.rootPath + "/data/out.txt", "hello\n")
        let task = TESTask(outputs: [TESOutput(url: "file://" + results.path + "/out.txt", path: "/data/out.txt")], executors: [])
        let logs = try await Self.publisher(staging: directory.path, allowed: results.path)
            .publish(task, secrets: [:], owner: nil, backend: pulsar, jobID: "j1", logger: Logger(label: "test"))
        #expect(logs.map(\.path) == ["/data/out.txt"] && logs.first?.sizeBytes == "6")
        #expect(try String(contentsOf: results.appendingPathComponent("out.txt"), encoding: .utf8) == "hello\n")
    }

    @Test func anOutputTheJobSentIsOnlyListedAndOneItCouldNotSendIsSentByTESP() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tesp-publish-\(UUID())")
        let results = directory.appendingPathComponent("results")
        try FileManager.default.createDirectory(at: results, withIntermediateDirectories: true)
        let pulsar = FakePulsarJobs(name: "p1")
        _ = try await pulsar.setup(jobID: "j1")
        let unsent = Data("curl: (22) The requested URL returned error: 403".utf8).base64EncodedString()
        await pulsar.write(
            "j1", JobScript.outputsPath,
            Self.manifestLine(output: 0, path: "/data/sent.txt", size: 5) + "{\"output\":0,\"sent\":true}\n"
                + Self.manifestLine(output: 1, path: "/data/unsent.txt", size: 7) + "{\"output\":1,\"unsent\":\"\(unsent)\"}\n"
        )
        await pulsar.write("j1", JobScript.rootPath + "/data/unsent.txt", "unsent\n")
        let task = TESTask(
            outputs: [
                TESOutput(url: "file://" + results.path + "/sent.txt", path: "/data/sent.txt"),
                TESOutput(url: "file://" + results.path + "/unsent.txt", path: "/data/unsent.txt"),
            ],
            executors: []
        )
        let logs = try await Self.publisher(staging: directory.path, allowed: results.path)
            .publish(task, secrets: [:], owner: nil, backend: pulsar, jobID: "j1", logger: Logger(label: "test"))
        #expect(logs.map(\.path) == ["/data/sent.txt", "/data/unsent.txt"] && logs.map(\.sizeBytes) == ["5", "7"])
        // The sent file was not fetched from Pulsar (nor written here); the other one went through TESP.
        #expect(await pulsar.count("downloadFile") == 1)
        #expect(!FileManager.default.fileExists(atPath: results.appendingPathComponent("sent.txt").path))
        #expect(try String(contentsOf: results.appendingPathComponent("unsent.txt"), encoding: .utf8) == "unsent\n")
    }

    @Test func streamedOutputsGoFromPulsarToTheirURLsWithNothingOnTESPsDisk() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tesp-publish-\(UUID())")
        let results = directory.appendingPathComponent("results")
        try FileManager.default.createDirectory(at: results, withIntermediateDirectories: true)
        // The staging directory is a plain file: anything put on disk on the way would fail.
        let notADirectory = directory.appendingPathComponent("not-a-directory")
        try Data("x".utf8).write(to: notADirectory)
        let pulsar = FakePulsarJobs(name: "p1")
        _ = try await pulsar.setup(jobID: "j1")
        let big = String(repeating: "ACGT", count: 300_000)  // 1.2 MB: more than a pipe holds
        await pulsar.write("j1", JobScript.outputsPath, Self.manifestLine(output: 0, path: "/data/big.txt", size: Int64(big.utf8.count)))
        await pulsar.write("j1", JobScript.rootPath + "/data/big.txt", big)
        await pulsar.write("j1", JobScript.rootPath + "/data/changed.txt", "not 99 bytes\n")
        var publisher = Self.publisher(staging: notADirectory.path, allowed: results.path)
        publisher.streamed = true
        let task = TESTask(outputs: [TESOutput(url: "file://" + results.path + "/big.txt", path: "/data/big.txt")], executors: [])
        let logs = try await publisher.publish(task, secrets: [:], owner: nil, backend: pulsar, jobID: "j1", logger: Logger(label: "test"))
        #expect(logs.map(\.sizeBytes) == ["\(big.utf8.count)"])
        #expect(try String(contentsOf: results.appendingPathComponent("big.txt"), encoding: .utf8) == big)
        #expect(try String(contentsOf: notADirectory, encoding: .utf8) == "x")
        // A file whose size is not what the job listed fails its output, by name.
        await pulsar.write("j1", JobScript.outputsPath, Self.manifestLine(output: 1, path: "/data/changed.txt", size: 99))
        let changed = TESTask(
            outputs: [TESOutput(), TESOutput(url: "file://" + results.path + "/changed.txt", path: "/data/changed.txt")], executors: [])
        do {
            _ = try await publisher.publish(changed, secrets: [:], owner: nil, backend: pulsar, jobID: "j1", logger: Logger(label: "test"))
            Issue.record("published a file of another size than listed")
        } catch let failure as TaskFailure {
            #expect(failure.description.contains("outputs[1]: /data/changed.txt is 13 bytes on Pulsar, not the 99 the job listed"), "\(failure)")
        }
    }

    @Test func aListNamingAnOutputTheTaskDoesNotHaveFailsTheOutputsStep() async throws {
        let pulsar = FakePulsarJobs(name: "p1")
        _ = try await pulsar.setup(jobID: "j1")
        await pulsar.write("j1", JobScript.outputsPath, Self.manifestLine(output: 3, path: "/data/x", size: 1))
        let task = TESTask(outputs: [TESOutput(url: "file:///tmp/x", path: "/data/x")], executors: [])
        do {
            _ = try await Self.publisher(staging: "/tmp", allowed: "/tmp")
                .publish(task, secrets: [:], owner: nil, backend: pulsar, jobID: "j1", logger: Logger(label: "test"))
            Issue.record("published a list naming an output that does not exist")
        } catch let failure as TaskFailure {
            #expect(failure.description == "outputs: the job's list of outputs names outputs[3], which the task does not have")
        }
        #expect(await pulsar.count("downloadFile") == 0)
    }

    @Test func outputsLargerThanTheFreeStagingSpaceAreRefusedBeforeAnyTransfer() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tesp-publish-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let free = try #require(OutputPublisher.freeBytes(at: directory.path))
        let pulsar = FakePulsarJobs(name: "p1")
        _ = try await pulsar.setup(jobID: "j1")
        // A sparse file's apparent size: nothing on Pulsar's disk, but every byte of it on TESP's.
        await pulsar.write("j1", JobScript.outputsPath, Self.manifestLine(output: 0, path: "/data/sparse", size: free + (1 << 30)))
        let task = TESTask(outputs: [TESOutput(url: "file://" + directory.path + "/sparse", path: "/data/sparse")], executors: [])
        do {
            _ = try await Self.publisher(staging: directory.path, allowed: directory.path)
                .publish(task, secrets: [:], owner: nil, backend: pulsar, jobID: "j1", logger: Logger(label: "test"))
            Issue.record("published an output that cannot fit")
        } catch let failure as TaskFailure {
            #expect(failure.description.contains("staging needs"))
        }
        #expect(await pulsar.count("downloadFile") == 0)
    }
}
