import Foundation
import Logging
import Synchronization
import TaskStore

/// This process's leases on the tasks it drives: it takes them, renews them in the store while their runners
/// run, gives them up when a runner ends, and knows by its own clock whether they are still surely its own.
///
/// A lease written now expires after ``duration``; the keeper renews the leases it holds every fifth of that and
/// takes them as its own only for four fifths of it after the last renewal the store confirmed (the last fifth
/// is the margin for clocks that disagree between hosts). When that time passes without a renewal (the store was
/// unreachable, the process was frozen), every ``Ticket`` handed out before is invalid for good: runners check
/// their ticket before each side effect (a store write, a submit, a cancel, a clean) and stop, and their tasks
/// are taken again, by this process or another, once their leases are free. The store fences every write on the
/// lease as well (``TaskUpdate/fence``), so a process that was wrong about its clock still cannot write.
public final class LeaseKeeper: Sendable {
    /// What a runner holds: valid while no lapse happened since it was handed out.
    public struct Ticket: Sendable, Equatable {
        let generation: UInt64
    }

    /// This process's name in the store's leases: host, process id and a random part, new at every start.
    public let holder: String
    public let duration: Duration
    private let store: any TaskStore
    private let clock: any EngineClock
    private let logger: Logger

    private struct State {
        var generation: UInt64 = 0
        /// Until when this process is sure its leases are its own.
        var validUntil: Date
        /// The time passed without a renewal: no ticket is valid until the next confirmed one.
        var lapsed = false
        /// The tasks whose leases it renews: those with a runner here.
        var held: Set<String> = []
    }

    private let state: Mutex<State>

    public init(holder: String, duration: Duration, store: any TaskStore, clock: any EngineClock, logger: Logger) {
        self.holder = holder
        self.duration = duration
        self.store = store
        self.clock = clock
        self.logger = logger
        state = Mutex(State(validUntil: clock.now.adding(duration * 4 / 5)))
    }

    /// A name for this process in leases, unique across hosts and restarts.
    public static func makeHolderName() -> String {
        let host = ProcessInfo.processInfo.hostName.prefix(64)
        return "\(host):\(ProcessInfo.processInfo.processIdentifier):\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// How often the leases are renewed.
    var renewInterval: Duration { duration / 5 }

    /// The lease a task is given now (at placement).
    func newLease() -> TaskLease { TaskLease(holder: holder, expires: clock.now.adding(duration)) }

    /// A ticket for a runner starting now (before its lease is written).
    func ticket() -> Ticket {
        state.withLock { state in
            lapseIfDue(&state)
            return Ticket(generation: state.generation)
        }
    }

    /// - Throws: ``TaskStoreError`` `.leaseLost` when `ticket` is from before a lapse, or the keeper's time is up.
    func check(_ ticket: Ticket) throws {
        let valid = state.withLock { state in
            lapseIfDue(&state)
            return !state.lapsed && state.generation == ticket.generation
        }
        if !valid {
            throw TaskStoreError(.leaseLost, "this process's leases lapsed: no renewal was confirmed for \(duration * 4 / 5)")
        }
    }

    private func lapseIfDue(_ state: inout State) {
        guard !state.lapsed, clock.now > state.validUntil else { return }
        // Tickets handed out before stay invalid for good; those handed out from now on become valid with the
        // next confirmed renewal (their leases are written after it began).
        state.generation += 1
        state.lapsed = true
        EngineMetrics.leaseLapse()
        logger.warning("Task leases lapsed; runners stop and their tasks are taken again", metadata: ["lease.holder": "\(holder)"])
    }

    /// Renews the lease of `id` from now on (a task this process placed).
    func hold(_ id: String) {
        EngineMetrics.leasesHeld(state.withLock { state in
            state.held.insert(id)
            return state.held.count
        })
    }

    /// Takes the lease of `id` for a runner of this process.
    /// - Returns: the runner's ticket, or `nil` when another live process holds the task.
    func acquire(_ id: String) async throws -> Ticket? {
        let ticket = ticket()
        guard try await store.acquireLease(id: id, newLease(), now: clock.now) else { return nil }
        hold(id)
        EngineMetrics.leaseTaken()
        return ticket
    }

    /// Gives up the lease of `id` (its runner ended), so that any process may take the task at once.
    func release(_ id: String) async {
        EngineMetrics.leasesHeld(state.withLock { state in
            state.held.remove(id)
            return state.held.count
        })
        do {
            try await store.releaseLease(id: id, holder: holder)
        } catch {
            // Not renewed any more, it expires within `duration`.
            logger.debug("Lease not released", metadata: ["tes.task.id": "\(id)", "error": "\(error)"])
        }
    }

    /// Renews the leases until cancelled.
    func run() async {
        while (try? await clock.sleep(for: renewInterval)) != nil {
            await renew()
        }
    }

    /// Renews every lease held, once.
    func renew() async {
        let sent = clock.now
        let ids = state.withLock { state in
            lapseIfDue(&state)
            return Array(state.held)
        }
        do {
            _ = try await store.renewLeases(ids: ids, holder: holder, expires: sent.adding(duration))
            let now = clock.now
            state.withLock { state in
                // The store wrote `sent + duration` (or nothing, where another holder took the task): whenever it
                // answered, no other process takes these leases before then. A lapse noticed meanwhile stands for
                // the tickets handed out before it (the generation moved on).
                state.validUntil = max(state.validUntil, sent.adding(duration * 4 / 5))
                if state.validUntil > now { state.lapsed = false }
            }
        } catch {
            logger.warning("Renewing task leases failed; will retry", metadata: ["error": "\(error)", "tasks": "\(ids.count)"])
        }
    }

    /// How many tasks' leases this process renews.
    var heldCount: Int { state.withLock { $0.held.count } }
}
