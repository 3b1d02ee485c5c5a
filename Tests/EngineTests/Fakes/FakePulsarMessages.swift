import AMQP
import Foundation
import Pulsar
import Synchronization

/// A Pulsar manager behind a broker, in memory: it records what TESP published, and the test publishes the status
/// updates (`publish`), so that the test decides exactly what the backend hears and when.
final class FakePulsarMessages: PulsarMessages {
    let name: String
    let updates: AsyncStream<AMQPDelivery>
    private let continuation: AsyncStream<AMQPDelivery>.Continuation

    struct Record {
        var launches: [PulsarLaunch] = []
        var kills: [String] = []
        var statusRequests: [String] = []
        var acknowledged = 0
        var consumers = 1
        /// Publishing fails (the broker is down).
        var down = false
    }

    private let state = Mutex(Record())

    init(name: String = "queued") {
        self.name = name
        (updates, continuation) = AsyncStream.makeStream(of: AMQPDelivery.self)
    }

    var record: Record { state.withLock { $0 } }
    var isConnected: Bool { !state.withLock { $0.down } }

    func set(down: Bool) { state.withLock { $0.down = down } }
    func set(consumers: Int) { state.withLock { $0.consumers = consumers } }

    /// Pulsar publishes a status update (a JSON body as Pulsar's `full_status` makes it).
    func publish(_ body: [String: Any]) {
        continuation.yield(AMQPDelivery(body: Array(try! JSONSerialization.data(withJSONObject: body))))
    }

    func publishRaw(_ text: String) { continuation.yield(AMQPDelivery(body: Array(text.utf8))) }
    func finish() { continuation.finish() }

    func launch(_ launch: PulsarLaunch) async throws {
        try state.withLock { state in
            if state.down { throw PulsarError(.unreachable, "broker down") }
            state.launches.append(launch)
        }
    }

    func kill(jobID: String) async throws {
        try state.withLock { state in
            if state.down { throw PulsarError(.unreachable, "broker down") }
            state.kills.append(jobID)
        }
    }

    func requestStatus(jobID: String) async throws {
        try state.withLock { state in
            if state.down { throw PulsarError(.unreachable, "broker down") }
            state.statusRequests.append(jobID)
        }
    }

    func acknowledge(_ delivery: AMQPDelivery) { state.withLock { $0.acknowledged += 1 } }

    func setupConsumers() async throws -> Int {
        try state.withLock { state in
            if state.down { throw PulsarError(.unreachable, "broker down") }
            return state.consumers
        }
    }
}
