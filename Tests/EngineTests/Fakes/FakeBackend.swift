import Foundation
import Logging
import Synchronization
import TES

@testable import Engine

/// A backend in memory whose jobs move only when the test says: a submitted job is `queued` until `setState`.
/// It counts every call, can hold `prepare` until it is cancelled (a long staging), can make `collect` hang
/// whatever happens, and can be made to fail.
final class FakeBackend: ComputeBackend {
    let name: String

    struct Job {
        var prepared = false
        var submissions = 0
        var state: BackendJobState = .absent
        var outcome: JobOutcome = .complete(executors: [TESExecutorLog(exitCode: 0)], outputs: [])
        var canceled = false
        var cleaned = false
    }

    private struct State {
        var jobs: [String: Job] = [:]
        var calls: [String: Int] = [:]
        var healthy = true
        /// `health` does not answer until cancelled (a server that accepts the connection and says nothing).
        var hangingHealth = false
        var holdPrepare = false
        var failing: BackendError?
        /// `collect` waits until released and ignores cancellation (a call stuck in C code, say).
        var stuckCollect = false
        var stuckCollectors: [CheckedContinuation<Void, Never>] = []
    }

    private let box = Mutex(State())

    init(name: String) { self.name = name }

    // MARK: What the test does

    /// Sets the state of the task's job (its `attempt`-th job, after jobs that could not start).
    func setState(of taskID: String, attempt: Int = 1, _ value: BackendJobState) {
        box.withLock { $0.jobs[BackendJob.jobID(for: taskID, attempt: attempt), default: Job()].state = value }
    }

    func setOutcome(of taskID: String, attempt: Int = 1, _ outcome: JobOutcome) {
        box.withLock { $0.jobs[BackendJob.jobID(for: taskID, attempt: attempt), default: Job()].outcome = outcome }
    }

    func setHealthy(_ value: Bool) { box.withLock { $0.healthy = value } }
    func setHangingHealth(_ value: Bool) { box.withLock { $0.hangingHealth = value } }
    func setHoldPrepare(_ value: Bool) { box.withLock { $0.holdPrepare = value } }
    func setFailing(_ error: BackendError?) { box.withLock { $0.failing = error } }
    func setStuckCollect(_ value: Bool) {
        let waiting = box.withLock { state in
            state.stuckCollect = value
            defer { state.stuckCollectors = [] }
            return value ? [] : state.stuckCollectors
        }
        for waiter in waiting { waiter.resume() }
    }

    func job(_ taskID: String, attempt: Int = 1) -> Job? {
        box.withLock { $0.jobs[BackendJob.jobID(for: taskID, attempt: attempt)] }
    }
    func calls(_ name: String) -> Int { box.withLock { $0.calls[name, default: 0] } }
    var submittedTaskIDs: [String] {
        box.withLock { $0.jobs.filter { $0.value.submissions > 0 }.keys.map { String($0.dropFirst("tesp-".count)) } }
    }

    // MARK: ComputeBackend

    private func record(_ call: String) throws {
        let failing = box.withLock { state in
            state.calls[call, default: 0] += 1
            return state.failing
        }
        if let failing { throw failing }
    }

    func prepare(_ job: BackendJob, logger: Logger) async throws {
        try record("prepare")
        while box.withLock({ $0.holdPrepare }) {
            try await Task.sleep(for: .milliseconds(2))  // a transfer that goes on until cancelled
        }
        if let failing = box.withLock({ $0.failing }) { throw failing }  // the backend failed during the transfer
        box.withLock { $0.jobs[job.jobID, default: Job()].prepared = true }
    }

    func submit(_ job: BackendJob, logger: Logger) async throws -> [String: String] {
        try record("submit")
        box.withLock { state in
            var entry = state.jobs[job.jobID, default: Job()]
            if entry.submissions == 0 {
                entry.submissions = 1
                if entry.state == .absent { entry.state = .queued }
            }
            state.jobs[job.jobID] = entry
        }
        return ["fake_job": job.jobID]
    }

    func state(of job: BackendJob, logger: Logger) async throws -> BackendJobState {
        try record("state")
        return box.withLock { $0.jobs[job.jobID]?.state ?? .absent }
    }

    func collect(_ job: BackendJob, logger: Logger) async throws -> JobOutcome {
        try record("collect")
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let stuck = box.withLock { state in
                if state.stuckCollect { state.stuckCollectors.append(continuation) }
                return state.stuckCollect
            }
            if !stuck { continuation.resume() }
        }
        return box.withLock { $0.jobs[job.jobID]?.outcome ?? .systemError("no job", executors: []) }
    }

    func cancel(_ job: BackendJob, logger: Logger) async throws -> [TESExecutorLog] {
        try record("cancel")
        box.withLock { $0.jobs[job.jobID, default: Job()].canceled = true }
        return []
    }

    func clean(_ job: BackendJob, logger: Logger) async throws {
        try record("clean")
        box.withLock { $0.jobs[job.jobID, default: Job()].cleaned = true }
    }

    func health() async throws -> String {
        while box.withLock({ $0.hangingHealth }) { try await Task.sleep(for: .milliseconds(2)) }
        guard box.withLock({ $0.healthy }) else { throw BackendError(.unavailable, "\(name) is down") }
        return "fake"
    }
}
