import Synchronization
import Testing

@testable import Engine

/// A gate the test opens: operations block on it until it is opened.
private final class Gate: Sendable {
    private let opened = Mutex(false)
    func open() { opened.withLock { $0 = true } }
    func wait() async {
        while !opened.withLock({ $0 }) { try? await Task.sleep(for: .milliseconds(5)) }
    }
}

/// Counts operations running at once, and the most seen.
private final class Concurrency: Sendable {
    private let state = Mutex((now: 0, most: 0, done: 0))
    func enter() { state.withLock { $0.now += 1; $0.most = max($0.most, $0.now) } }
    func leave() { state.withLock { $0.now -= 1; $0.done += 1 } }
    var most: Int { state.withLock { $0.most } }
    var done: Int { state.withLock { $0.done } }
}

private func eventually(_ condition: @Sendable () async -> Bool) async throws {
    for _ in 0..<2000 {
        if await condition() { return }
        try await Task.sleep(for: .milliseconds(5))
    }
    Issue.record("condition never held")
}

@Suite struct AsyncLimiterTests {
    @Test func noMoreThanTheLimitRunAtOnceAndAllRun() async throws {
        let limiter = AsyncLimiter(limit: 2)
        let seen = Concurrency()
        let gate = Gate()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<6 {
                group.addTask {
                    try await limiter.run {
                        seen.enter()
                        await gate.wait()
                        seen.leave()
                    }
                }
            }
            try await eventually { await limiter.queued == 4 }
            #expect(await limiter.inUse == 2)
            gate.open()
            try await group.waitForAll()
        }
        #expect(seen.most == 2 && seen.done == 6)
        #expect(await limiter.inUse == 0)
    }

    @Test func aCancelledWaiterLeavesTheLineAtOnce() async throws {
        let limiter = AsyncLimiter(limit: 1)
        let gate = Gate()
        let holder = Task { try await limiter.run { await gate.wait() } }
        try await eventually { await limiter.inUse == 1 }
        let waiter = Task { try await limiter.run { "ran" } }
        try await eventually { await limiter.queued == 1 }
        waiter.cancel()
        // The place is still held: only leaving the line can end the waiter.
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(await limiter.queued == 0)
        gate.open()
        try await holder.value
        // The place the cancelled waiter gave up is not lost.
        #expect(try await limiter.run { "after" } == "after")
        #expect(await limiter.inUse == 0)
    }
}

@Suite struct OwnerTransferSlotsTests {
    @Test func oneOwnerWaitsForItsOwnSlotsWhileAnotherGoesOn() async throws {
        let slots = OwnerTransferSlots(perOwner: 1)
        let gate = Gate()
        let alice = Concurrency()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    try await slots.run(owner: "alice") {
                        alice.enter()
                        await gate.wait()
                        alice.leave()
                    }
                }
            }
            // Bob is not behind alice's line, and nobody's tasks (no authentication) are not limited at all.
            #expect(try await slots.run(owner: "bob") { 1 } == 1)
            let anonymous = Concurrency()
            try await withThrowingTaskGroup(of: Void.self) { inner in
                for _ in 0..<3 {
                    inner.addTask {
                        try await slots.run(owner: nil) {
                            anonymous.enter()
                            try await eventually { anonymous.most == 3 }
                            anonymous.leave()
                        }
                    }
                }
                try await inner.waitForAll()
            }
            #expect(anonymous.most == 3)
            gate.open()
            try await group.waitForAll()
        }
        #expect(alice.most == 1 && alice.done == 3)
    }

    @Test func zeroMeansNoLimit() async throws {
        let slots = OwnerTransferSlots(perOwner: 0)
        let seen = Concurrency()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    try await slots.run(owner: "alice") {
                        seen.enter()
                        try await eventually { seen.most == 3 }
                        seen.leave()
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(seen.most == 3)
    }
}
