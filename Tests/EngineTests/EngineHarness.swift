import Foundation
import Logging
import Synchronization
import TES
import TaskStore
import Testing

@testable import Engine

/// An engine over fake backends, the in-memory store and a test clock, running in a task of its own.
final class EngineHarness: Sendable {
    let store: any TaskStore
    let clock: TestClock
    let backends: [FakeBackend]
    let registry: BackendRegistry
    let engine: Engine
    private let running: Mutex<Task<Void, any Error>?> = Mutex(nil)
    private let ids = Mutex(TESTaskIDGenerator())
    private let counter = Mutex<UInt64>(1_800_000_000_000)

    static func configuration() -> EngineConfiguration {
        EngineConfiguration(
            runtime: .init(kind: .bwrap),
            pollInitial: .milliseconds(100),
            pollMax: .seconds(1),
            scanInterval: .seconds(2),
            transientGrace: .seconds(60),
            healthInterval: .seconds(1),
            statusCallsPerSecond: 0
        )
    }

    init(
        _ descriptions: [BackendDescription],
        store: (any TaskStore)? = nil,
        clock: TestClock = TestClock(),
        backends existing: [FakeBackend]? = nil,
        inputSizing: (any InputSizing)? = nil,
        configure: (inout EngineConfiguration) -> Void = { _ in }
    ) {
        var configuration = Self.configuration()
        configure(&configuration)
        self.store = store ?? InMemoryTaskStore()
        self.clock = clock
        let backends = existing ?? descriptions.map { FakeBackend(name: $0.name) }
        self.backends = backends
        registry = BackendRegistry(
            zip(backends, descriptions).map { BackendRegistry.Entry(backend: $0, description: $1) },
            statusCallsPerSecond: configuration.statusCallsPerSecond,
            clock: clock
        )
        engine = Engine(
            store: self.store,
            backends: registry,
            configuration: configuration,
            clock: clock,
            inputSizing: inputSizing,
            logger: Logger(label: "test")
        )
    }

    func start() {
        let engine = self.engine
        running.withLock { $0 = Task { try await engine.run() } }
    }

    /// Stops the engine as a shutdown would (its runners are cancelled), and waits for it.
    func stop() async {
        let task = running.withLock { $0 }
        task?.cancel()
        _ = await task?.result
    }

    /// Stores a new QUEUED task (with the next id, or `id`) and tells the engine, as the API does (unless not `tell`).
    @discardableResult
    func create(
        _ task: TESTask = TESTask(executors: [TESExecutor(image: "alpine", command: ["true"])]),
        id given: String? = nil,
        tell: Bool = true
    ) async throws -> String {
        let id = given ?? ids.withLock { generator in
            generator.next(milliseconds: counter.withLock { $0 += 1; return $0 }, random: { (0, 0) })
        }
        var task = task
        task.id = id
        task.state = .queued
        task.creationTime = Date()
        try await store.create(task)
        if tell { engine.taskCreated(id: id) }
        return id
    }

    func state(_ id: String) async throws -> TESState {
        try await store.get(id: id, view: .minimal).state ?? .unknown
    }

    func task(_ id: String) async throws -> TESTask { try await store.get(id: id, view: .full) }

    func backend(_ name: String) -> FakeBackend { backends.first { $0.name == name }! }

    /// Moves the clock on until `id` is in `state`.
    @discardableResult
    func wait(for id: String, _ state: TESState, sourceLocation: SourceLocation = #_sourceLocation) async throws -> Bool {
        try await advance(clock, until: { try await self.state(id) == state }, sourceLocation: sourceLocation)
    }
}
