import Logging
import Pulsar
import ServiceLifecycle
import Synchronization
import TES
import TaskStore
import Transfer

/// Runs tasks on Pulsar: finds the tasks that need work (told by the API, and by scanning the store), and gives
/// each one a ``TaskDriver`` until it is terminal.
///
/// At start-up the first scan resumes every non-terminal task: QUEUED ones start, INITIALIZING and RUNNING ones
/// re-attach to their Pulsar job, CANCELING ones are finished. On shutdown the drivers stop where they are and the
/// store keeps their state for the next start. At most one driver runs per task in this process.
public final class Engine: Service, TaskEvents {
    private enum Event: Sendable {
        case created(String)
        case cancel(String)
        case scan
    }

    private let store: any TaskStore
    private let configuration: EngineConfiguration
    private let logger: Logger
    private let driver: TaskDriver
    private let events: AsyncStream<Event>
    private let eventSink: AsyncStream<Event>.Continuation
    private let active = ActiveDrivers()

    public init(
        store: any TaskStore,
        backends: [any PulsarJobs],
        transfers: Transfers,
        configuration: EngineConfiguration,
        logger: Logger
    ) {
        self.store = store
        self.configuration = configuration
        self.logger = logger
        let ownerSlots = OwnerTransferSlots(perOwner: configuration.transfersPerOwner)
        self.driver = TaskDriver(
            store: store,
            backends: PulsarBackends(backends),
            configuration: configuration,
            polls: AsyncLimiter(limit: configuration.maxConcurrentPolls),
            starts: AsyncLimiter(limit: configuration.maxStartingTasks),
            inputs: InputStager(
                transfers: transfers,
                stagingDirectory: configuration.stagingDirectory,
                parallelTransfers: configuration.transfersPerTask,
                ownerSlots: ownerSlots
            ),
            outputs: OutputPublisher(
                transfers: transfers,
                stagingDirectory: configuration.stagingDirectory,
                parallelTransfers: configuration.transfersPerTask,
                ownerSlots: ownerSlots,
                limits: transfers.configuration.limits
            ),
            logger: logger
        )
        (events, eventSink) = AsyncStream.makeStream(of: Event.self)
    }

    public func taskCreated(id: String) { eventSink.yield(.created(id)) }

    public func cancelRequested(id: String) { eventSink.yield(.cancel(id)) }

    public func run() async throws {
        let interval = configuration.scanInterval
        let sink = eventSink
        await withDiscardingTaskGroup { group in
            group.addTask {
                // The periodic scan: a safety net for anything the wake-ups missed (another server's API, restarts).
                sink.yield(.scan)
                while (try? await Task.sleep(for: interval)) != nil { sink.yield(.scan) }
            }
            for await event in events.cancelOnGracefulShutdown() {
                switch event {
                case .created(let id):
                    startDriver(id: id, in: &group)
                case .cancel(let id):
                    if let signal = active.signal(for: id) {
                        signal.fire()
                    } else {
                        startDriver(id: id, in: &group)
                    }
                case .scan:
                    for (id, state) in await tasksNeedingWork() {
                        // A cancel made through another process reaches a driver here only through the store.
                        if state == .canceling, let signal = active.signal(for: id) {
                            signal.fire()
                        } else {
                            startDriver(id: id, in: &group)
                        }
                    }
                }
            }
            group.cancelAll()
        }
        logger.info("Engine stopped")
    }

    private func startDriver(id: String, in group: inout DiscardingTaskGroup) {
        guard let signal = active.register(id) else { return }
        let driver = self.driver
        let active = self.active
        group.addTask {
            await driver.drive(id: id, cancel: signal)
            active.remove(id)
        }
    }

    /// Ids of every task in a state the engine acts on, with that state.
    private func tasksNeedingWork() async -> [(id: String, state: TESState)] {
        var ids: [(id: String, state: TESState)] = []
        for state in [TESState.canceling, .queued, .initializing, .running, .paused] {
            var request = TESListRequest(filter: TESTaskFilter(state: state), pageSize: TESListRequest.maxPageSize)
            do {
                var count = 0
                while true {
                    let page = try await store.list(request)
                    ids += page.tasks.compactMap { task in task.id.map { ($0, state) } }
                    count += page.tasks.count
                    guard let next = page.nextAfterID else { break }
                    request.afterID = next
                }
                EngineMetrics.tasks(in: state, count: count)
            } catch {
                logger.warning("Scan of the task store failed", metadata: ["error": "\(error)"])
                return ids
            }
        }
        // Oldest first, so that tasks start in the order they were submitted.
        return ids.sorted { $0.id < $1.id }
    }
}

/// The tasks that have a driver in this process, each with the signal that tells its driver the user canceled.
final class ActiveDrivers: Sendable {
    private let drivers = Mutex<[String: OneShotSignal]>([:])

    /// Registers a driver for `id`. - Returns: its cancel signal, or `nil` if `id` already has a driver.
    func register(_ id: String) -> OneShotSignal? {
        drivers.withLock { drivers in
            guard drivers[id] == nil else { return nil }
            let signal = OneShotSignal()
            drivers[id] = signal
            return signal
        }
    }

    func signal(for id: String) -> OneShotSignal? { drivers.withLock { $0[id] } }

    func remove(_ id: String) { _ = drivers.withLock { $0.removeValue(forKey: id) } }
}
