import Metrics
import TES

/// What the engine reports through swift-metrics (exported by `tesp serve` at `/metrics` for Prometheus).
enum EngineMetrics {
    /// A task reached `state` (one count per state change the engine made).
    static func transition(to state: TESState) {
        Counter(label: "tesp_task_transitions_total", dimensions: [("to", state.rawValue)]).increment()
    }

    /// How many tasks the last store scan found in each state the engine works on.
    static func tasks(in state: TESState, count: Int) {
        Gauge(label: "tesp_tasks", dimensions: [("state", state.rawValue)]).record(count)
    }

    /// How long one Pulsar status call took.
    static func pollDuration(_ duration: Duration) {
        Timer(label: "tesp_pulsar_poll_duration_seconds").record(duration: duration)
    }

    /// How long one scan of the store took and how many store calls it made (`full`: every non-terminal state).
    static func scan(full: Bool, duration: Duration, storeCalls: Int) {
        let kind = [("kind", full ? "full" : "queued_and_canceling")]
        Timer(label: "tesp_scan_duration_seconds", dimensions: kind).record(duration: duration)
        Counter(label: "tesp_scan_store_calls_total", dimensions: kind).increment(by: storeCalls)
    }

    /// How many tasks' leases this process holds (tasks it drives).
    static func leasesHeld(_ count: Int) {
        Gauge(label: "tesp_task_leases_held").record(count)
    }

    /// A lease taken by a scan or a cancel: a task resumed after a restart, or taken over from a process that
    /// died or stopped (placement's own leases are not counted).
    static func leaseTaken() {
        Counter(label: "tesp_task_leases_taken_total").increment()
    }

    /// This process's leases lapsed (no renewal confirmed in time): its runners stopped.
    static func leaseLapse() {
        Counter(label: "tesp_task_lease_lapses_total").increment()
    }
}
