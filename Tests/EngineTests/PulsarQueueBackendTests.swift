import AMQP
import Foundation
import JobScript
import Logging
import Pulsar
import TES
import Testing
import Transfer

@testable import Engine

/// A Pulsar server behind a broker: what the setup message carries, how status updates drive the job without any
/// request, when the backend asks again, and how the job's stdout report becomes the task's logs; against a fake
/// manager and a clock the test moves.
@Suite struct PulsarQueueBackendTests {
    let logger = Logger(label: "test")
    let clock = TestClock()

    private func backend(_ queue: FakePulsarMessages, trusted: Bool = false) -> PulsarQueueBackend {
        let transfers = Transfers(Transfers.Configuration(), logger: logger)
        let configuration = EngineConfiguration(
            runtime: .init(kind: .bwrap), queueStatusRequestInterval: .seconds(60), queueAnswerTimeout: .seconds(10))
        let factory = BackendFactory(configuration: configuration, transfers: transfers, clock: clock)
        return factory.pulsarQueue(queue, trusted: trusted, logger: logger).backend as! PulsarQueueBackend
    }

    private func job(_ task: TESTask) -> BackendJob { BackendJob(task: task) }

    private let md5 = TESTask(
        id: "t1",
        inputs: [
            TESInput(url: "https://data.example.org/ref.fa", path: "/data/ref.fa"),
            TESInput(path: "/data/note.txt", content: "hello"),
        ],
        executors: [TESExecutor(image: "alpine", command: ["md5sum", "/data/ref.fa"])]
    )

    private func status(_ state: String, finished: Bool = false, returnCode: Int? = nil, stdout: String = "") -> PulsarJobStatus {
        PulsarJobStatus(state: PulsarJobStatus.State(state), isFinished: finished, returnCode: returnCode, jobStdout: stdout)
    }

    @Test func oneSetupMessageCarriesTheScriptTheContentAndTheFetches() async throws {
        let queue = FakePulsarMessages()
        let backend = backend(queue)
        let job = job(md5)
        try await backend.prepare(job, logger: logger)
        _ = try await backend.submit(job, logger: logger)
        let launch = try #require(queue.record.launches.first)
        #expect(queue.record.launches.count == 1)
        #expect(launch.jobID == "tesp-t1")
        #expect(launch.commandLine == "bash '__PULSAR_JOB_DIRECTORY__/configs/tesp-job.sh'")
        #expect(launch.remoteInputs == [PulsarRemoteInput(name: "input-0", url: "https://data.example.org/ref.fa")])
        #expect(launch.files.map(\.name) == ["content-1", "tesp-job.sh"])
        #expect(launch.files[0].contents == "hello" && launch.files[0].type == .input)
        let script = try #require(launch.files.last)
        #expect(script.type == .config)
        #expect(script.contents.contains("tesp_report") && script.contents.contains("TESP_INPUTS=\"$(dirname -- \"$TESP_WORK\")/inputs\""))
        // The body is what Pulsar's submit_job reads.
        let body = try JSONSerialization.jsonObject(with: Data(try launch.messageBody())) as! [String: Any]
        #expect(body["job_id"] as? String == "tesp-t1")
        #expect((body["setup_params"] as? [String: String]) == ["job_id": "tesp-t1"])
        let setup = (body["remote_staging"] as! [String: Any])["setup"] as! [[String: Any]]
        #expect(setup.map { ($0["action"] as! [String: Any])["action_type"] as! String } == ["message", "message", "remote_transfer"])
    }

    @Test func updatesDriveTheJobWithoutAnyRequest() async throws {
        let queue = FakePulsarMessages()
        let backend = backend(queue)
        let job = job(md5)
        _ = try await backend.submit(job, logger: logger)
        #expect(try await backend.state(of: job, logger: logger) == .queued)
        backend.record(status("running"), for: job.jobID)
        #expect(try await backend.state(of: job, logger: logger) == .running)
        clock.advance(by: .seconds(30))
        backend.record(status("complete", finished: true, returnCode: 0), for: job.jobID)
        #expect(try await backend.state(of: job, logger: logger) == .finished)
        #expect(queue.record.statusRequests.isEmpty)
    }

    @Test func anUpdateWakesTheRunnerFollowingTheJob() async throws {
        let queue = FakePulsarMessages()
        let backend = backend(queue)
        let job = job(md5)
        let change = try #require(backend.nextChange(of: job))
        #expect(backend.nextChange(of: job) === change)  // one signal per job until it fires
        backend.record(status("running"), for: "tesp-other")
        #expect(!change.isFired)
        backend.record(status("running"), for: job.jobID)
        #expect(change.isFired)
        #expect(backend.nextChange(of: job) !== change)
        // The runner's wait ends at the change, long before its poll interval, and says it was not a cancel.
        let cancel = OneShotSignal()
        let next = try #require(backend.nextChange(of: job))
        let waited = Task { await cancel.wait(upTo: .seconds(3600), clock: clock, orUntil: next) }
        backend.record(status("complete", finished: true, returnCode: 0), for: job.jobID)
        #expect(await waited.value == false)
    }

    @Test func aLateUpdateDoesNotUndoTheEnd() async throws {
        let queue = FakePulsarMessages()
        let backend = backend(queue)
        let job = job(md5)
        _ = try await backend.submit(job, logger: logger)
        backend.record(status("complete", finished: true, returnCode: 0), for: job.jobID)
        backend.record(status("running"), for: job.jobID)
        #expect(try await backend.state(of: job, logger: logger) == .finished)
    }

    @Test func afterARestartEveryJobIsAskedOnceAndASilentOneAgainAfterAnInterval() async throws {
        let queue = FakePulsarMessages()
        let backend = backend(queue)  // knows nothing: as after a TESP restart
        let job = job(md5)
        #expect(try await backend.state(of: job, logger: logger) == .queued)
        #expect(try await backend.state(of: job, logger: logger) == .queued)
        #expect(queue.record.statusRequests == ["tesp-t1"])
        backend.record(status("running"), for: job.jobID)
        clock.advance(by: .seconds(59))
        #expect(try await backend.state(of: job, logger: logger) == .running)
        #expect(queue.record.statusRequests.count == 1)
        clock.advance(by: .seconds(2))
        #expect(try await backend.state(of: job, logger: logger) == .running)
        #expect(queue.record.statusRequests.count == 2)
    }

    @Test func anUnansweredRequestMakesTheBackendUnavailableForTheJob() async throws {
        let queue = FakePulsarMessages()
        let backend = backend(queue)
        let job = job(md5)
        _ = try await backend.state(of: job, logger: logger)
        clock.advance(by: .seconds(11))
        await #expect {
            _ = try await backend.state(of: job, logger: logger)
        } throws: { error in
            (error as? BackendError)?.kind == .unavailable && "\(error)".contains("has not answered a status request")
        }
        // The answer comes: all is well again.
        backend.record(status("queued"), for: job.jobID)
        #expect(try await backend.state(of: job, logger: logger) == .queued)
    }

    @Test func aBrokerThatIsDownIsUnavailableNotAFailure() async throws {
        let queue = FakePulsarMessages()
        let backend = backend(queue)
        queue.set(down: true)
        await #expect {
            _ = try await backend.state(of: job(md5), logger: logger)
        } throws: { error in
            (error as? BackendError)?.kind == .unavailable
        }
    }

    @Test func whenPulsarReconnectsEveryJobIsAskedAgain() async throws {
        let queue = FakePulsarMessages()
        let backend = backend(queue)
        let job = job(md5)
        _ = try await backend.health()
        _ = try await backend.submit(job, logger: logger)
        queue.set(consumers: 0)
        await #expect(throws: BackendError.self) { _ = try await backend.health() }
        #expect(try await backend.state(of: job, logger: logger) == .queued)
        #expect(queue.record.statusRequests.isEmpty)
        queue.set(consumers: 1)
        #expect(try await backend.health().contains("1 consumer"))
        _ = try await backend.state(of: job, logger: logger)
        #expect(queue.record.statusRequests == ["tesp-t1"])
    }

    @Test func theReportOnStdoutBecomesTheExecutorLogs() async throws {
        let queue = FakePulsarMessages()
        let backend = backend(queue)
        let job = job(md5)
        let records = [
            #"{"event":"start","executor":0,"time":1800000000000}"#,
            #"{"event":"end","executor":0,"time":1800000001000,"exit_code":0,"stdout":"\#(Data("ok\n".utf8).base64EncodedString())","stderr":""}"#,
            #"{"event":"done"}"#,
        ].joined(separator: "\n")
        let stdout = "noise\n\n\(JobReport.begin)\(JobScript.recordsPath)\n\(records)\n\n\(JobReport.end)\n"
        backend.record(status("complete", finished: true, returnCode: 0, stdout: stdout), for: job.jobID)
        let outcome = try await backend.collect(job, logger: logger)
        guard case .complete(let executors, let outputs) = outcome else {
            Issue.record("not complete: \(outcome)")
            return
        }
        #expect(executors.map(\.stdout) == ["ok\n"] && executors.map(\.exitCode) == [0])
        #expect(outputs.isEmpty)
    }

    @Test func aJobWithoutAReportIsASystemErrorThatSaysWhy() async throws {
        let queue = FakePulsarMessages()
        let backend = backend(queue)
        let job = job(md5)
        backend.record(status("complete", finished: true, returnCode: 0, stdout: "cut\n..\n"), for: job.jobID)
        guard case .systemError(let message, _) = try await backend.collect(job, logger: logger) else {
            Issue.record("not a system error")
            return
        }
        #expect(message.contains("without reporting its executors"))
    }

    @Test func filesTheQueueCannotMoveAreRefusedBeforeTheJobNamingTheField() async throws {
        let backend = backend(FakePulsarMessages())
        let directoryInput = TESTask(
            id: "t2", inputs: [TESInput(url: "https://data.example.org/dir", path: "/data/dir", type: .directory)],
            executors: [TESExecutor(image: "alpine", command: ["true"])])
        await #expect {
            try await backend.prepare(job(directoryInput), logger: logger)
        } throws: { "\($0)".contains("inputs[0]") && "\($0)".contains("message queue") }
        let directoryOutput = TESTask(
            id: "t3", outputs: [TESOutput(url: "https://data.example.org/out/", path: "/data/out", type: .directory)],
            executors: [TESExecutor(image: "alpine", command: ["true"])])
        await #expect {
            try await backend.prepare(job(directoryOutput), logger: logger)
        } throws: { "\($0)".contains("outputs[0]") }
    }

    @Test func aMalformedUpdateIsDroppedAndAcknowledged() async throws {
        let queue = FakePulsarMessages()
        let backend = backend(queue)
        queue.publishRaw("not json")
        queue.publish(["status": "running", "complete": "false"])  // no job id
        queue.publish(["job_id": "tesp-t1", "status": "running", "complete": "false"])
        queue.finish()
        await backend.consumeUpdates()
        #expect(queue.record.acknowledged == 3)
        _ = try await backend.submit(job(md5), logger: logger)
        #expect(queue.record.launches.isEmpty)  // Pulsar already has it: not sent again
        #expect(try await backend.state(of: job(md5), logger: logger) == .running)
    }

    @Test func aCancelWaitsForPulsarToSayTheJobStopped() async throws {
        let queue = FakePulsarMessages()
        let backend = backend(queue)
        let job = job(md5)
        _ = try await backend.submit(job, logger: logger)
        backend.record(status("running"), for: job.jobID)
        let cancel = Task { try await backend.cancel(job, logger: logger) }
        let finished = Finished()
        Task {
            _ = try? await cancel.value
            await finished.set()
        }
        try await advance(clock, by: .milliseconds(250), steps: 20) { queue.record.kills == ["tesp-t1"] }
        backend.record(status("cancelled", finished: true), for: job.jobID)
        // Well within the answer timeout (10 s).
        try await advance(clock, by: .milliseconds(250), steps: 8) { await finished.value }
        #expect(try await cancel.value.isEmpty)
    }

    @Test func aCancelPulsarNeverConfirmsFailsAfterTheAnswerTimeout() async throws {
        let queue = FakePulsarMessages()
        let backend = backend(queue)
        let job = job(md5)
        _ = try await backend.submit(job, logger: logger)
        let cancel = Task { try await backend.cancel(job, logger: logger) }
        let finished = Finished()
        Task {
            _ = try? await cancel.value
            await finished.set()
        }
        try await advance(clock, by: .milliseconds(500), steps: 100) { await finished.value }
        await #expect {
            _ = try await cancel.value
        } throws: { ($0 as? TaskFailure).map { "\($0)".contains("did not say the job stopped") } ?? false }
    }
}

private actor Finished {
    var value = false
    func set() { value = true }
}
