import Logging
import ServiceLifecycle
import Synchronization
import TES
import TaskStore

/// Runs tasks on the configured backends: the ``Scheduler`` places QUEUED tasks as backends have room, and each
/// placed task gets a ``TaskRunner`` until it is terminal.
///
/// Tasks are found through the API's wake-ups and by scanning the store. The first scan resumes every
/// non-terminal task (INITIALIZING and RUNNING ones re-attach to their job, CANCELING ones are finished); later
/// scans look only at CANCELING tasks and at QUEUED ones created since shortly before the newest seen (cheap,
/// whatever the number running or waiting), and every ``EngineConfiguration/fullScanEvery`` scans at all of them
/// again. On shutdown the runners stop where they are
/// and the store keeps their state for the next start.
///
/// Several engine processes may share one store: a task is driven only by the process that holds its lease
/// (``LeaseKeeper``), taken when it is placed or, for a task no live process drives (its lease expired or was
/// given up), at the next scan. At most one runner runs per task in this process, and one process per task.
public final class Engine: Service, TaskEvents {
    enum Event: Sendable {
        /// A task is QUEUED: created through this process's API, or placed again by its runner.
        case queued(String)
        case cancel(String)
        case scan
        /// A runner ended or a backend's health changed: there may be room now.
        case place
    }

    private let store: any TaskStore
    private let configuration: EngineConfiguration
    private let logger: Logger
    private let clock: any EngineClock
    private let runner: TaskRunner
    private let scheduler: Scheduler
    private let health: BackendHealthChecker
    private let events: AsyncStream<Event>
    private let eventSink: AsyncStream<Event>.Continuation
    private let active = ActiveRunners()
    private let placements: CoalescedEvent
    private let scans: CoalescedEvent
    private let leases: LeaseKeeper

    /// The states in which a task needs a runner (and so a lease).
    static let drivenStates: Set<TESState> = [.initializing, .running, .paused, .canceling]

    public init(
        store: any TaskStore,
        backends: BackendRegistry,
        configuration: EngineConfiguration,
        clock: any EngineClock = SystemClock(),
        inputSizing: (any InputSizing)? = nil,
        logger: Logger
    ) {
        self.store = store
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
        (events, eventSink) = AsyncStream.makeStream(of: Event.self)
        let sink = eventSink
        let leases = LeaseKeeper(
            holder: configuration.leaseHolder,
            duration: configuration.leaseDuration,
            store: store,
            clock: clock,
            logger: logger
        )
        self.leases = leases
        self.runner = TaskRunner(
            store: store,
            backends: backends,
            configuration: configuration,
            clock: clock,
            polls: AsyncLimiter(limit: configuration.maxConcurrentPolls),
            starts: AsyncLimiter(limit: configuration.maxStartingTasks),
            placedAgain: { id in sink.yield(.queued(id)) },
            logger: logger,
            leases: leases
        )
        self.scheduler = Scheduler(
            store: store,
            placement: Placement(backends: backends.descriptions, policy: configuration.placementPolicy.makePolicy()),
            backends: backends,
            clock: clock,
            inputSizing: inputSizing,
            leases: leases,
            logger: logger
        )
        let placements = CoalescedEvent(.place, sink: sink)
        self.placements = placements
        scans = CoalescedEvent(.scan, sink: sink)
        self.health = BackendHealthChecker(
            backends: backends,
            interval: configuration.healthInterval,
            timeout: configuration.healthTimeout,
            clock: clock,
            logger: logger,
            onChange: { placements.request() }
        )
    }

    public func taskCreated(id: String) { eventSink.yield(.queued(id)) }

    /// How many tasks have a runner in this process now.
    var runnerCount: Int { active.count }

    /// This process's name in the store's leases.
    public var leaseHolder: String { leases.holder }

    public func cancelRequested(id: String) { eventSink.yield(.cancel(id)) }

    /// Drives tasks until a graceful shutdown (or cancellation). A shutdown stops every runner where it is and
    /// waits for them at most ``EngineConfiguration/shutdownTimeout``: a runner stuck in a call that ignores
    /// cancellation does not hold the process, and its task, as the store has it, resumes at the next start.
    public func run() async throws {
        let ended = OneShotSignal()
        // Fires when the loop ended or a graceful shutdown began, whichever is first.
        let stopping = OneShotSignal()
        // Unstructured, so that `run` can stop waiting for it; it inherits the graceful-shutdown handler.
        let loop = Task {
            await self.driveTasks()
            ended.fire()
            stopping.fire()
        }
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await stopping.wait()
            } onGracefulShutdown: {
                stopping.fire()
            }
        } onCancel: {
            loop.cancel()
        }
        if !ended.isFired, !Task.isCancelled {
            let timeout = configuration.shutdownTimeout
            if await !ended.wait(upTo: timeout, clock: clock) {
                logger.warning(
                    "Tasks still stopping at the end of the shutdown time; the next start resumes them",
                    metadata: ["tasks": "\(active.count)", "engine.shutdown_seconds": "\(timeout)"]
                )
                loop.cancel()
                return
            }
        }
        await loop.value
    }

    private func driveTasks() async {
        let interval = configuration.scanInterval
        let scans = self.scans
        let clock = self.clock
        let health = self.health
        let leases = self.leases
        await withDiscardingTaskGroup { group in
            group.addTask { await health.run() }
            group.addTask { await leases.run() }
            group.addTask {
                // The periodic scan: a safety net for anything the wake-ups missed (another server's API, restarts).
                // A scan slower than the interval is not queued up again behind itself.
                scans.request()
                while (try? await clock.sleep(for: interval)) != nil { scans.request() }
            }
            var scanCount = 0
            var horizon = QueuedHorizon(lookback: configuration.queuedLookback)
            for await event in events.cancelOnGracefulShutdown() {
                switch event {
                case .queued(let id):
                    // 10,000 tasks created at once make one placement, not 10,000.
                    await scheduler.enqueue([id])
                    placements.request()
                case .cancel(let id):
                    if let signal = active.signal(for: id) {
                        signal.fire()
                    } else {
                        startRunner(id: id, in: &group)
                    }
                case .scan:
                    scans.started()
                    let full = scanCount % configuration.fullScanEvery == 0
                    scanCount += 1
                    await scan(full: full, horizon: &horizon, in: &group)
                    await place(in: &group)
                case .place:
                    placements.started()
                    await place(in: &group)
                }
            }
            group.cancelAll()
        }
        logger.info("Engine stopped")
    }

    private func place(in group: inout DiscardingTaskGroup) async {
        do {
            // Before the leases are written, so that a lapse during the placement invalidates them.
            let ticket = leases.ticket()
            let (placed, more) = try await scheduler.placeWaitingTasks(upTo: configuration.placementBatch)
            for id in placed { startRunner(id: id, ticket: ticket, in: &group) }
            // The next batch after whatever else is waiting (a cancel, a scan): the loop never stalls on placing.
            if more { placements.request() }
        } catch {
            logger.warning("Placing tasks failed; will retry at the next scan", metadata: ["error": "\(error)"])
        }
    }

    /// Starts a runner for `id` unless it has one here: with the `ticket` of a lease this process just wrote
    /// (placement), or after taking the task's lease (nothing happens when another live process holds it).
    private func startRunner(id: String, ticket: LeaseKeeper.Ticket? = nil, in group: inout DiscardingTaskGroup) {
        guard let signal = active.register(id) else { return }
        let runner = self.runner
        let active = self.active
        let placements = self.placements
        let leases = self.leases
        let logger = self.logger
        group.addTask {
            var held = ticket
            if held == nil {
                do {
                    held = try await leases.acquire(id)
                } catch {
                    logger.warning("Taking the task's lease failed; the next scan tries again", metadata: ["tes.task.id": "\(id)", "error": "\(error)"])
                }
            }
            if let held {
                await runner.run(id: id, cancel: signal, ticket: held)
                // Given up at once, also at a shutdown (in a task of its own, which the shutdown's cancellation
                // does not reach): another process, or the next start, takes the task without waiting for the
                // lease to expire.
                await Task { await leases.release(id) }.value
            }
            active.remove(id)
            placements.request()  // a place on its backend may be free now, or the task went back to QUEUED
        }
    }

    /// Reads the store for tasks that need this engine: QUEUED ones go to the scheduler; CANCELING ones tell their
    /// runner here (a cancel made through another process reaches it only through the store); tasks that need a
    /// runner and that no live process drives (their lease expired or was given up: a process died, or stopped)
    /// get one here. A light scan reads QUEUED tasks back to the `horizon` only: the older ones are known already
    /// (placed, or waiting in the scheduler); a full scan reads every state, for the metrics too.
    private func scan(full: Bool, horizon: inout QueuedHorizon, in group: inout DiscardingTaskGroup) async {
        let states: [TESState] = full ? [.canceling, .queued, .initializing, .running, .paused] : [.canceling, .queued]
        let start = ContinuousClock.now
        var storeCalls = 0
        defer { EngineMetrics.scan(full: full, duration: ContinuousClock.now - start, storeCalls: storeCalls) }
        for state in states {
            let back = state == .queued && !full ? horizon.oldest : nil
            guard let ids = await ids(in: state, back: back, storeCalls: &storeCalls) else { return }
            switch state {
            case .queued:
                horizon.saw(ids)
                await scheduler.enqueue(ids)
            case .canceling:
                for id in ids { active.signal(for: id)?.fire() }
            default:
                break  // counted for the metrics; the unleased ones are taken below
            }
        }
        storeCalls += 1
        do {
            // Oldest first, so that tasks resume in the order they were submitted.
            let unleased = try await store.unleasedTasks(in: Self.drivenStates, now: clock.now, limit: configuration.takeoverBatch)
            for id in unleased { startRunner(id: id, in: &group) }
        } catch {
            logger.warning("Scan for tasks no process drives failed", metadata: ["error": "\(error)"])
        }
    }

    /// Ids of the tasks in `state`, newest first, back to `back` (all without it); `nil` when the store failed.
    private func ids(in state: TESState, back: String? = nil, storeCalls: inout Int) async -> [String]? {
        var request = TESListRequest(filter: TESTaskFilter(state: state), pageSize: TESListRequest.maxPageSize)
        var ids: [String] = []
        do {
            pages: while true {
                storeCalls += 1
                let page = try await store.list(request)
                for id in page.tasks.compactMap(\.id) {
                    if let back, id < back { break pages }
                    ids.append(id)
                }
                guard let next = page.nextAfterID else { break }
                request.afterID = next
            }
        } catch {
            logger.warning("Scan of the task store failed", metadata: ["error": "\(error)"])
            return nil
        }
        if back == nil { EngineMetrics.tasks(in: state, count: ids.count) }
        return ids
    }
}

/// The tasks that have a runner in this process, each with the signal that tells its runner the user canceled.
final class ActiveRunners: Sendable {
    private let runners = Mutex<[String: OneShotSignal]>([:])

    /// Registers a runner for `id`. - Returns: its cancel signal, or `nil` if `id` already has a runner.
    func register(_ id: String) -> OneShotSignal? {
        runners.withLock { runners in
            guard runners[id] == nil else { return nil }
            let signal = OneShotSignal()
            runners[id] = signal
            return signal
        }
    }

    func signal(for id: String) -> OneShotSignal? { runners.withLock { $0[id] } }

    func remove(_ id: String) { _ = runners.withLock { $0.removeValue(forKey: id) } }

    var count: Int { runners.withLock { $0.count } }
}

/// Asks the engine's loop for an event (a placement, a scan) at most once until the loop takes it: a burst of
/// wake-ups (tasks created, runners ending, scan ticks while a slow scan runs) makes one event, not one each, so
/// the loop's queue never fills with placements that would each read the in-flight counts again.
final class CoalescedEvent: Sendable {
    private let pending = Atomic<Bool>(false)
    private let event: Engine.Event
    private let sink: AsyncStream<Engine.Event>.Continuation

    init(_ event: Engine.Event, sink: AsyncStream<Engine.Event>.Continuation) {
        self.event = event
        self.sink = sink
    }

    func request() {
        if !pending.exchange(true, ordering: .acquiringAndReleasing) { sink.yield(event) }
    }

    /// The loop is about to act on the event: requests from now on make another one.
    func started() { pending.store(false, ordering: .releasing) }
}

/// How far back a light scan reads QUEUED tasks: to shortly before the newest QUEUED task any scan has seen.
///
/// Ids sort by creation time, and every older QUEUED task was seen by an earlier scan or told to the engine by
/// the API or a runner. The lookback covers tasks another process created with a clock a little behind; the full
/// scan covers the rest.
struct QueuedHorizon {
    let lookback: Duration
    private(set) var newest: String?

    init(lookback: Duration) { self.lookback = lookback }

    /// The oldest id a light scan reads, `nil` (read all) until a scan has seen a QUEUED task.
    var oldest: String? {
        guard let newest, let milliseconds = TESTaskID.milliseconds(of: newest) else { return nil }
        let (seconds, attoseconds) = lookback.components
        let back = UInt64(max(0, seconds)) * 1000 + UInt64(max(0, attoseconds) / 1_000_000_000_000_000)
        return TESTaskID.earliest(atMilliseconds: milliseconds > back ? milliseconds - back : 0)
    }

    mutating func saw(_ ids: [String]) {
        guard let top = ids.max(), newest.map({ top > $0 }) ?? true else { return }
        newest = top
    }
}
