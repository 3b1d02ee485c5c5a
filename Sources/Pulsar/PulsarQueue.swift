import AMQP
import Foundation
import Logging

/// A job as one setup message carries it: Pulsar sets it up, writes `files` into it, fetches `remoteInputs`, and
/// runs `commandLine` (in which `__PULSAR_JOB_DIRECTORY__` stands for the job's directory).
public struct PulsarLaunch: Sendable, Equatable {
    /// A file the message carries (Pulsar's `message` staging action: text written as is).
    public struct File: Sendable, Equatable {
        public var name: String
        public var type: PulsarFileType
        public var contents: String

        public init(name: String, type: PulsarFileType, contents: String) {
            self.name = name
            self.type = type
            self.contents = contents
        }
    }

    public var jobID: String
    public var commandLine: String
    public var files: [File]
    public var remoteInputs: [PulsarRemoteInput]

    public init(jobID: String, commandLine: String, files: [File], remoteInputs: [PulsarRemoteInput]) {
        self.jobID = jobID
        self.commandLine = commandLine
        self.files = files
        self.remoteInputs = remoteInputs
    }

    /// The setup message's body: the same dict as a REST submit (`pulsar/manager_endpoint_util.py` `submit_job`),
    /// with `setup_params` so that Pulsar sets the job up itself, and every file in `remote_staging.setup`.
    public func messageBody() throws -> [UInt8] {
        struct SetupParams: Encodable { let job_id: String }
        struct Body: Encodable {
            let job_id: String
            let command_line: String
            let setup_params: SetupParams
            let remote_staging: PulsarRemoteStaging
        }
        let body = Body(
            job_id: jobID, command_line: commandLine, setup_params: SetupParams(job_id: jobID),
            remote_staging: PulsarRemoteStaging(files: files, inputs: remoteInputs))
        return Array(try PulsarRemoteStaging.encoder.encode(body))
    }
}

/// A submit's `remote_staging` (read from Pulsar's `client/staging/up.py` and `managers/staging/pre.py`): a
/// `message` action per file carried inline (text Pulsar writes as is), and a `remote_transfer` action per input
/// Pulsar fetches itself (a GET of its URL into the inputs directory).
struct PulsarRemoteStaging: Encodable {
    private struct Source: Encodable { let path: String }
    private struct Action: Encodable {
        let action_type: String
        let source: Source?
        let path: String?
        let url: String?
        let contents: String?
    }
    private struct Entry: Encodable {
        let name: String
        let type: String
        let action: Action
    }

    private let setup: [Entry]

    init(files: [PulsarLaunch.File] = [], inputs: [PulsarRemoteInput]) {
        setup =
            files.map { Entry(name: $0.name, type: $0.type.rawValue, action: Action(action_type: "message", source: nil, path: nil, url: nil, contents: $0.contents)) }
            + inputs.map {
                Entry(name: $0.name, type: "input", action: Action(action_type: "remote_transfer", source: Source(path: $0.name), path: $0.name, url: $0.url, contents: nil))
            }
    }

    /// Sorted keys and unescaped slashes: the same bytes for the same job every time.
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

/// A status Pulsar published (`status_update`): the REST status dict, with the job's id.
public struct PulsarStatusUpdate: Sendable {
    public var jobID: String
    public var status: PulsarJobStatus
    /// The message, acknowledged once the update is handled (stored), so that one lost by a crash comes again.
    public let delivery: AMQPDelivery

    /// - Throws: `DecodingError` for a body that is not a status with a job id.
    public init(_ delivery: AMQPDelivery) throws {
        struct JobID: Decodable { let job_id: String }
        let data = Data(delivery.body)
        jobID = try JSONDecoder().decode(JobID.self, from: data).job_id
        status = try JSONDecoder().decode(PulsarJobStatus.self, from: data)
        self.delivery = delivery
    }
}

/// The queue names of one Pulsar manager (`pulsar/client/amqp_exchange.py`): `pulsar_` + (`_default_`: nothing,
/// else `<manager>_`) + `_` + the queue, e.g. `pulsar__setup`; `amqp_key_prefix` replaces everything before the
/// queue's own name.
public struct PulsarQueueNames: Sendable, Equatable {
    public static let exchange = "pulsar"
    public var prefix: String

    public init(manager: String = "_default_", keyPrefix: String? = nil) {
        if let keyPrefix, !keyPrefix.isEmpty {
            prefix = keyPrefix
        } else {
            prefix = "pulsar_" + (manager == "_default_" || manager.isEmpty ? "" : manager + "_") + "_"
        }
    }

    public var setup: String { prefix + "setup" }
    public var kill: String { prefix + "kill" }
    public var status: String { prefix + "status" }
    public var statusUpdate: String { prefix + "status_update" }
    public var all: [String] { [setup, kill, status, statusUpdate] }
}

/// What TESP says to, and hears from, one Pulsar manager through a broker (Pulsar's message-queue mode). Nothing
/// connects to Pulsar: both sides connect to the broker.
public protocol PulsarMessages: Sendable {
    /// The backend's name in the settings.
    var name: String { get }
    /// Sets up and starts a job in one message. Pulsar ignores a second setup message for a job it has.
    func launch(_ launch: PulsarLaunch) async throws
    /// Stops the job (Pulsar's `kill` queue).
    func kill(jobID: String) async throws
    /// Asks Pulsar to publish the job's status again (its `status` queue).
    func requestStatus(jobID: String) async throws
    /// The status updates Pulsar publishes, in order; each is acknowledged with ``acknowledge(_:)``.
    var updates: AsyncStream<AMQPDelivery> { get }
    func acknowledge(_ delivery: AMQPDelivery)
    /// Whether the broker connection is up now.
    var isConnected: Bool { get }
    /// How many consumers Pulsar has on its setup queue: 0 when no Pulsar of this manager is connected to the
    /// broker. - Throws: when the broker cannot be asked.
    func setupConsumers() async throws -> Int
}

/// ``PulsarMessages`` over an ``AMQPClient``; run the client as a service.
public struct PulsarAMQPQueue: PulsarMessages {
    public let name: String
    public let names: PulsarQueueNames
    public let client: AMQPClient

    /// A client that declares the manager's four queues (as Pulsar does, so either may start first) and, with
    /// `consumeUpdates`, consumes its status updates (an API-only process must not: the engine needs them).
    public init(
        name: String, url: AMQPURL, tls: AMQPTLS = AMQPTLS(), names: PulsarQueueNames, consumeUpdates: Bool = true,
        heartbeatSeconds: Int = 30, logger: Logger
    ) {
        self.name = name
        self.names = names
        var logger = logger
        logger[metadataKey: "backend"] = "\(name)"
        client = AMQPClient(
            configuration: .init(
                url: url, tls: tls, exchange: PulsarQueueNames.exchange, queues: names.all, consume: consumeUpdates ? [names.statusUpdate] : [],
                heartbeatSeconds: heartbeatSeconds),
            logger: logger
        )
    }

    public func launch(_ launch: PulsarLaunch) async throws {
        try await publish(try launch.messageBody(), to: names.setup)
    }

    public func kill(jobID: String) async throws {
        try await publish(Self.jobMessage(jobID), to: names.kill)
    }

    public func requestStatus(jobID: String) async throws {
        try await publish(Self.jobMessage(jobID), to: names.status)
    }

    public var updates: AsyncStream<AMQPDelivery> { client.deliveries }
    public func acknowledge(_ delivery: AMQPDelivery) { client.ack(delivery) }
    public var isConnected: Bool { client.isConnected }

    public func setupConsumers() async throws -> Int {
        do {
            return try await client.inspect(names.setup).consumers
        } catch let error as AMQPError {
            throw PulsarError(.unreachable, "asking the broker about \(names.setup): \(error)")
        }
    }

    private func publish(_ body: [UInt8], to queue: String) async throws {
        do {
            try await client.publish(body, routingKey: queue)
        } catch let error as AMQPError {
            // A nack or a refused declaration may pass; a broker that is down is Pulsar unreachable.
            throw PulsarError(error.code == .refused ? .serverError : .unreachable, "publish to \(queue): \(error)")
        }
    }

    static func jobMessage(_ jobID: String) -> [UInt8] {
        struct Body: Encodable { let job_id: String }
        return Array((try? JSONEncoder().encode(Body(job_id: jobID))) ?? Data())
    }
}
