import Foundation
import JobScript
import Logging
import Pulsar
import TES
import Testing
import Transfer

@testable import Engine

/// The Pulsar backend against a fake Pulsar: what it submits, how Pulsar's states read, and when a job is dead.
@Suite struct PulsarRESTBackendTests {
    let logger = Logger(label: "test")

    /// Staging that places nothing (the task has no inputs or outputs).
    struct NoStaging: PulsarStaging {
        func stageIn(_ job: BackendJob, on pulsar: any PulsarJobFiles, logger: Logger) async throws -> [JobScript.PlacedInput] { [] }
        func stageOut(_ job: BackendJob, on pulsar: any PulsarJobFiles, logger: Logger) async throws -> [TESOutputFileLog] { [] }
    }

    func backend(_ pulsar: FakePulsarJobs, clock: TestClock) -> PulsarRESTBackend {
        PulsarRESTBackend(
            pulsar: pulsar,
            staging: NoStaging(),
            settings: .init(
                runtime: ContainerRuntime(kind: .bwrap),
                heartbeatInterval: .seconds(10),
                heartbeatTimeout: .seconds(60),
                retry: RetryPolicy(grace: .seconds(1))
            ),
            clock: clock
        )
    }

    let job = BackendJob(task: TESTask(id: "t1", executors: [TESExecutor(image: "alpine", command: ["true"])]))

    @Test func aPreparedJobIsSubmittedOnceWithItsScript() async throws {
        let pulsar = FakePulsarJobs(name: "p")
        let backend = backend(pulsar, clock: TestClock())
        try await backend.prepare(job, logger: logger)
        #expect(await pulsar.file("tesp-t1", PulsarRESTBackend.jobScriptName, type: .config)?.hasPrefix("#!") == true)
        _ = try await backend.submit(job, logger: logger)
        _ = try await backend.submit(job, logger: logger)  // a restart after the submit
        #expect(await pulsar.count("submit") == 1)
        #expect(await pulsar.jobs["tesp-t1"]?.commandLine == "bash '/pulsar/staging/tesp-t1/configs/tesp-job.sh'")
        #expect(try await backend.state(of: job, logger: logger) == .queued)
    }

    @Test func aJobLongInPulsarsQueueIsNotTakenForDeadWhenItStarts() async throws {
        let pulsar = FakePulsarJobs(name: "p")
        let clock = TestClock()
        let backend = backend(pulsar, clock: clock)
        try await backend.prepare(job, logger: logger)
        _ = try await backend.submit(job, logger: logger)
        clock.advance(by: .seconds(3600))  // an hour queued, no heartbeat file yet
        await pulsar.setState("tesp-t1", .running)
        #expect(try await backend.state(of: job, logger: logger) == .running)
        clock.advance(by: .seconds(30))
        await pulsar.write("tesp-t1", JobScript.heartbeatPath, "1")
        #expect(try await backend.state(of: job, logger: logger) == .running)
        // Then the beats stop (Pulsar restarted and lost the processes, but still says running).
        var seen: [BackendJobState] = []
        for _ in 0..<8 {
            clock.advance(by: .seconds(10))
            seen.append(try await backend.state(of: job, logger: logger))
        }
        // Alive until the heartbeat has been the same for the timeout (60 s), then lost.
        #expect(Array(seen.prefix(5)) == Array(repeating: .running, count: 5))
        #expect(seen.last == .lost("the job stopped on Pulsar 'p' without finishing: its processes are gone (was Pulsar restarted?)"))
    }

    @Test func finishedJobsAreCollectedFromTheirRecords() async throws {
        let pulsar = FakePulsarJobs(name: "p")
        let backend = backend(pulsar, clock: TestClock())
        try await backend.prepare(job, logger: logger)
        _ = try await backend.submit(job, logger: logger)
        await pulsar.write("tesp-t1", JobScript.recordsPath, """
            {"event":"start","executor":0,"time":1000}
            {"event":"end","executor":0,"time":2000,"exit_code":3,"stdout":"","stderr":""}
            {"event":"stopped"}

            """)
        await pulsar.setState("tesp-t1", .complete, finished: true, returnCode: 0)
        #expect(try await backend.state(of: job, logger: logger) == .finished)
        guard case .executorError(let executors) = try await backend.collect(job, logger: logger) else {
            Issue.record("not an executor error")
            return
        }
        #expect(executors.map(\.exitCode) == [3])
        await pulsar.setState("tesp-t1", .lost, finished: true)
        #expect(try await backend.state(of: job, logger: logger) == .lost("Pulsar 'p' lost the job"))
    }

    @Test func aJobScriptPulsarCouldNotExecuteIsNotStartedAndOneThatRanIsNot() async throws {
        let pulsar = FakePulsarJobs(name: "p")
        let backend = backend(pulsar, clock: TestClock())
        try await backend.prepare(job, logger: logger)
        _ = try await backend.submit(job, logger: logger)
        let busy = "/pulsar/staging/tesp-t1/command.sh: /bin/bash: bad interpreter: Text file busy"
        await pulsar.setState("tesp-t1", .complete, finished: true, returnCode: 126, stderr: busy)
        #expect(try await backend.collect(job, logger: logger) == .notStarted("Pulsar 'p' could not start the job script (exit code 126): " + busy))
        // The same exit code after the script recorded an executor: it ran, so it is not started again.
        await pulsar.write("tesp-t1", JobScript.recordsPath, "{\"event\":\"start\",\"executor\":0,\"time\":1000}\n")
        guard case .systemError = try await backend.collect(job, logger: logger) else {
            Issue.record("a job that ran was taken for one that did not start")
            return
        }
    }

    @Test func aPoolTimeoutOfOurOwnIsBusyNotTheBackendsFault() {
        #expect(PulsarRESTBackend.backendError(PulsarError(.busy, "pool"), retryServerErrors: true).kind == .busy)
        #expect(PulsarRESTBackend.backendError(PulsarError(.serverError, "500"), retryServerErrors: false).kind == .failed)
        #expect(PulsarRESTBackend.backendError(PulsarError(.unreachable, "refused"), retryServerErrors: false).kind == .unavailable)
    }
}
