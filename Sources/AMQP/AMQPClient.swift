import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// A message taken from a queue; the broker gives it again (redelivered) unless it is acknowledged with
/// ``AMQPClient/ack(_:)`` on the connection it came from.
public struct AMQPDelivery: Sendable {
    public var body: [UInt8]
    public var routingKey: String
    public var redelivered: Bool
    let tag: UInt64
    let connection: UInt64

    init(body: [UInt8], routingKey: String, redelivered: Bool, tag: UInt64, connection: UInt64) {
        self.body = body
        self.routingKey = routingKey
        self.redelivered = redelivered
        self.tag = tag
        self.connection = connection
    }

    /// A message made by hand, not received (for fakes in tests): acknowledging it does nothing.
    public init(body: [UInt8], routingKey: String = "", redelivered: Bool = false) {
        self.init(body: body, routingKey: routingKey, redelivered: redelivered, tag: 0, connection: 0)
    }
}

/// A broker connection kept up by one thread of its own, with an async API: publish with publisher confirms,
/// consume with manual acknowledgements, reconnect with backoff.
///
/// rabbitmq-c blocks, and its connections are not thread-safe: the thread owns the connection and does every call,
/// so nothing blocking runs on SwiftNIO's event loops or Swift's cooperative pool. Async callers hand it commands
/// and get their answers through continuations; it looks for commands between waits of at most ``Configuration/wake``.
/// Run it as a service: it connects when ``run()`` starts and closes at graceful shutdown.
public final class AMQPClient: Service, Sendable {
    public struct Configuration: Sendable {
        public var url: AMQPURL
        public var tls: AMQPTLS
        /// The exchange every queue is bound to (direct, durable).
        public var exchange: String
        /// Queues declared (durable) and bound to the exchange under their own names.
        public var queues: [String]
        /// Which of them this client consumes.
        public var consume: [String]
        public var heartbeatSeconds: Int
        public var prefetch: UInt16
        public var connectTimeout: Duration
        public var reconnectMinimum: Duration
        public var reconnectMaximum: Duration
        /// The longest a command waits for the thread (a publish while nothing arrives).
        public var wake: Duration
        /// How long a command made while there is no connection waits for one (the first connection at start-up,
        /// a reconnection) before it fails with ``AMQPError/Code/notConnected``.
        public var commandWait: Duration

        public init(
            url: AMQPURL, tls: AMQPTLS = AMQPTLS(), exchange: String, queues: [String], consume: [String],
            heartbeatSeconds: Int = 30, prefetch: UInt16 = 256, connectTimeout: Duration = .seconds(10),
            reconnectMinimum: Duration = .milliseconds(500), reconnectMaximum: Duration = .seconds(15),
            wake: Duration = .milliseconds(50), commandWait: Duration = .seconds(2)
        ) {
            self.url = url
            self.tls = tls
            self.exchange = exchange
            self.queues = queues
            self.consume = consume
            self.heartbeatSeconds = heartbeatSeconds
            self.prefetch = prefetch
            self.connectTimeout = connectTimeout
            self.reconnectMinimum = reconnectMinimum
            self.reconnectMaximum = reconnectMaximum
            self.wake = wake
            self.commandWait = commandWait
        }
    }

    private enum Command {
        case publish(routingKey: String, body: [UInt8], CheckedContinuation<Void, any Error>)
        case ack(tag: UInt64, connection: UInt64)
        case inspect(queue: String, CheckedContinuation<AMQPQueueInfo, any Error>)

        /// Answers the command's caller with `error` (an ack has no caller).
        func fail(_ error: any Error) {
            switch self {
            case .publish(_, _, let waiter): waiter.resume(throwing: error)
            case .inspect(_, let waiter): waiter.resume(throwing: error)
            case .ack: break
            }
        }
    }

    private struct Shared {
        var commands: [(command: Command, since: ContinuousClock.Instant)] = []
        var connected = false
        var stopping = false
        var started = false
        var stopped: [CheckedContinuation<Void, Never>] = []
        var finished = false
    }

    public let configuration: Configuration
    /// Every message consumed, in order. One reader.
    public let deliveries: AsyncStream<AMQPDelivery>
    private let continuation: AsyncStream<AMQPDelivery>.Continuation
    private let shared = Mutex(Shared())
    private let logger: Logger
    private let metrics: AMQPMetrics

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "amqp.broker"] = "\(configuration.url)"
        self.logger = logger
        (deliveries, continuation) = AsyncStream.makeStream(of: AMQPDelivery.self)
        metrics = AMQPMetrics(broker: configuration.url.endpoint)
    }

    /// Whether the client is connected now (for readiness).
    public var isConnected: Bool { shared.withLock { $0.connected } }

    /// Sends a persistent JSON message to the exchange and waits until the broker has it (publisher confirm).
    /// - Throws: ``AMQPError``: ``AMQPError/Code/notConnected`` when there has been no connection for
    ///   ``Configuration/commandWait`` (the caller retries); ``AMQPError/Code/connectionLost`` when the connection broke before the confirm (the message may
    ///   have arrived: receivers must take duplicates, as Pulsar does).
    public func publish(_ body: [UInt8], routingKey: String) async throws {
        try await enqueue { .publish(routingKey: routingKey, body: body, $0) }
    }

    /// How many messages wait in `queue` and how many consumers it has (one of the declared queues).
    /// - Throws: ``AMQPError``, ``AMQPError/Code/notConnected`` when there has been no connection for
    ///   ``Configuration/commandWait``.
    public func inspect(_ queue: String) async throws -> AMQPQueueInfo {
        try await enqueue { .inspect(queue: queue, $0) }
    }

    /// Hands the thread a command that answers through its continuation (refused at once while closing).
    private func enqueue<T: Sendable>(_ command: (CheckedContinuation<T, any Error>) -> Command) async throws -> T {
        try await withCheckedThrowingContinuation { (waiter: CheckedContinuation<T, any Error>) in
            let refused: AMQPError? = shared.withLock { shared in
                if shared.stopping || shared.finished { return AMQPError(.stopped, "the connection to \(configuration.url) is closing") }
                shared.commands.append((command(waiter), .now))
                return nil
            }
            if let refused { waiter.resume(throwing: refused) }
        }
    }

    /// Acknowledges a message: the broker forgets it. One from a connection that has since broken is not
    /// acknowledged (the broker gives it again).
    public func ack(_ delivery: AMQPDelivery) {
        shared.withLock { $0.commands.append((.ack(tag: delivery.tag, connection: delivery.connection), .now)) }
    }

    /// Connects (again and again, with backoff) until graceful shutdown.
    public func run() async throws {
        start()
        try? await gracefulShutdown()
        await stop()
    }

    /// Starts the connection's thread (once).
    public func start() {
        let start = shared.withLock { shared -> Bool in
            defer { shared.started = true }
            return !shared.started
        }
        guard start else { return }
        let thread = Thread { [self] in
            var worker = Worker(client: self)
            worker.run()
        }
        thread.name = "tesp-amqp"
        thread.start()
    }

    /// Closes the connection and waits for the thread to end; the deliveries stream finishes.
    public func stop() async {
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let done = shared.withLock { shared -> Bool in
                shared.stopping = true
                if shared.finished || !shared.started { return true }
                shared.stopped.append(waiter)
                return false
            }
            if done { waiter.resume() }
        }
        continuation.finish()
    }

    // MARK: The thread

    /// What the thread keeps; only the thread touches it.
    private struct Worker {
        let client: AMQPClient
        var connection: AMQPConnection?
        var generation: UInt64 = 0
        var confirms: [UInt64: CheckedContinuation<Void, any Error>] = [:]
        var backoff: Duration
        var nextAttempt = ContinuousClock.now
        var failedAttempts = 0

        init(client: AMQPClient) {
            self.client = client
            self.backoff = client.configuration.reconnectMinimum
        }

        mutating func run() {
            let configuration = client.configuration
            while true {
                let connected = connection != nil
                let wait = configuration.commandWait
                let (commands, stopping) = client.shared.withLock { shared -> ([Command], Bool) in
                    if connected || shared.stopping {
                        defer { shared.commands = [] }
                        return (shared.commands.map(\.command), shared.stopping)
                    }
                    // No connection: commands wait for one a little; the older ones fail.
                    let now = ContinuousClock.now
                    let expired = shared.commands.filter { now - $0.since >= wait }.map(\.command)
                    shared.commands.removeAll { now - $0.since >= wait }
                    return (expired, false)
                }
                if stopping {
                    fail(commands, AMQPError(.stopped, "the connection to \(configuration.url) closed"))
                    disconnect(AMQPError(.stopped, "the connection to \(configuration.url) closed"), politely: true)
                    let waiters = client.shared.withLock { shared in
                        shared.finished = true
                        defer { shared.stopped = [] }
                        return shared.stopped
                    }
                    for waiter in waiters { waiter.resume() }
                    return
                }
                guard let connection else {
                    fail(commands, AMQPError(.notConnected, "not connected to \(configuration.url)"))
                    connectWhenDue()
                    continue
                }
                do {
                    try send(commands, on: connection)
                    try receive(on: connection)
                } catch {
                    client.logger.warning("Lost the connection to the broker; reconnecting", metadata: ["error": "\(error)"])
                    disconnect(error as? AMQPError ?? AMQPError(.connectionLost, "\(error)"), politely: false)
                }
            }
        }

        private mutating func connectWhenDue() {
            let now = ContinuousClock.now
            guard now >= nextAttempt else {
                Thread.sleep(forTimeInterval: min(Self.seconds(nextAttempt - now), Self.seconds(client.configuration.wake)))
                return
            }
            let configuration = client.configuration
            do {
                let connection = try AMQPConnection(
                    url: configuration.url, tls: configuration.tls, heartbeatSeconds: configuration.heartbeatSeconds,
                    connectTimeout: configuration.connectTimeout)
                try connection.declareExchange(configuration.exchange, type: "direct", durable: true)
                for queue in configuration.queues {
                    try connection.declareQueue(queue, exchange: configuration.exchange, durable: true)
                }
                for queue in configuration.consume {
                    try connection.consume(queue, prefetch: configuration.prefetch)
                }
                self.connection = connection
                generation += 1
                backoff = configuration.reconnectMinimum
                client.shared.withLock { $0.connected = true }
                client.metrics.connected(true)
                client.logger.info("Connected to the broker", metadata: ["amqp.attempts": "\(failedAttempts + 1)"])
                failedAttempts = 0
            } catch {
                failedAttempts += 1
                // Said once per outage at warning level; every later attempt at debug.
                if failedAttempts == 1 {
                    client.logger.warning("Cannot connect to the broker; retrying with backoff", metadata: ["error": "\(error)"])
                } else {
                    client.logger.debug("Still cannot connect to the broker", metadata: ["error": "\(error)"])
                }
                nextAttempt = ContinuousClock.now + backoff
                backoff = min(backoff * 2, configuration.reconnectMaximum)
            }
        }

        private mutating func send(_ commands: [Command], on connection: AMQPConnection) throws {
            for (index, command) in commands.enumerated() {
                do {
                    switch command {
                    case .publish(let routingKey, let body, let waiter):
                        let tag = try connection.publish(exchange: client.configuration.exchange, routingKey: routingKey, body: body)
                        confirms[tag] = waiter
                    case .ack(let tag, let from):
                        if from == generation { try connection.ack(tag) }
                    case .inspect(let queue, let waiter):
                        waiter.resume(returning: try connection.inspect(queue))
                    }
                } catch {
                    fail(Array(commands[(index + 1)...]), AMQPError(.connectionLost, "the connection to \(client.configuration.url) broke"))
                    command.fail(error)
                    throw error
                }
            }
        }

        /// Reads what has arrived, waiting up to the wake interval for the first event.
        private mutating func receive(on connection: AMQPConnection) throws {
            var timeout = client.configuration.wake
            while true {
                switch try connection.next(timeout: timeout) {
                case .timeout:
                    return
                case .delivery(let body, let routingKey, let tag, let redelivered):
                    client.metrics.consumed(redelivered: redelivered)
                    client.continuation.yield(
                        AMQPDelivery(body: body, routingKey: routingKey, redelivered: redelivered, tag: tag, connection: generation))
                case .confirm(let tag, let multiple, let ok):
                    let settled = multiple ? confirms.keys.filter { $0 <= tag } : [tag]
                    for key in settled {
                        guard let waiter = confirms.removeValue(forKey: key) else { continue }
                        if ok {
                            client.metrics.published()
                            waiter.resume()
                        } else {
                            waiter.resume(throwing: AMQPError(.refused, "\(client.configuration.url) did not take the message (nack)"))
                        }
                    }
                case .other:
                    break
                }
                // Drain what is already there without waiting again.
                timeout = .zero
            }
        }

        private mutating func disconnect(_ error: AMQPError, politely: Bool) {
            if politely { connection?.close() }
            connection = nil
            for waiter in confirms.values { waiter.resume(throwing: AMQPError(error.code == .stopped ? .stopped : .connectionLost, error.description)) }
            confirms = [:]
            client.shared.withLock { $0.connected = false }
            client.metrics.connected(false)
            nextAttempt = ContinuousClock.now
        }

        private func fail(_ commands: [Command], _ error: AMQPError) {
            for command in commands { command.fail(error) }
        }

        private static func seconds(_ duration: Duration) -> TimeInterval {
            Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        }
    }
}

/// The client's counters: `tesp_amqp_connected`, `tesp_amqp_published_total`, `tesp_amqp_consumed_total`,
/// `tesp_amqp_redelivered_total`, each labelled with the broker's `host:port`.
struct AMQPMetrics: Sendable {
    private let connectedGauge: Gauge
    private let publishedCounter: Counter
    private let consumedCounter: Counter
    private let redeliveredCounter: Counter

    init(broker: String) {
        let dimensions = [("broker", broker)]
        connectedGauge = Gauge(label: "tesp_amqp_connected", dimensions: dimensions)
        publishedCounter = Counter(label: "tesp_amqp_published_total", dimensions: dimensions)
        consumedCounter = Counter(label: "tesp_amqp_consumed_total", dimensions: dimensions)
        redeliveredCounter = Counter(label: "tesp_amqp_redelivered_total", dimensions: dimensions)
    }

    func connected(_ value: Bool) { connectedGauge.record(value ? 1 : 0) }
    func published() { publishedCounter.increment() }
    func consumed(redelivered: Bool) {
        consumedCounter.increment()
        if redelivered { redeliveredCounter.increment() }
    }
}
