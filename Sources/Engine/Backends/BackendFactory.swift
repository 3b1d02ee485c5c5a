import Logging
import Pulsar
import ServiceLifecycle
import Transfer

/// Makes the backends `tesp serve` configures, sharing what they share (the transfer slots of each owner).
public struct BackendFactory: Sendable {
    let configuration: EngineConfiguration
    let transfers: Transfers
    let clock: any EngineClock
    private let ownerSlots: OwnerTransferSlots

    public init(configuration: EngineConfiguration, transfers: Transfers, clock: any EngineClock = SystemClock()) {
        self.configuration = configuration
        self.transfers = transfers
        self.clock = clock
        self.ownerSlots = OwnerTransferSlots(perOwner: configuration.transfersPerOwner)
    }

    /// Another TES server (gateway mode).
    public func tes(name: String, remote: any RemoteTES) -> any ComputeBackend {
        TESGatewayBackend(name: name, remote: remote, retry: RetryPolicy(grace: configuration.transientGrace), clock: clock)
    }

    /// Who moves a Pulsar job's files.
    public enum Staging: Sendable, Equatable {
        /// This server, for every file.
        case tesp
        /// Pulsar fetches what it can reach by itself (see ``PulsarSideStaging``), with pre-signed URLs only when
        /// `trusted`; the rest goes through TESP.
        case pulsar(trusted: Bool)
    }

    /// A Pulsar server over REST.
    public func pulsarREST(_ pulsar: any PulsarJobs, staging kind: Staging = .tesp) -> any ComputeBackend {
        let throughTESP = throughTESPStaging()
        let staging: any PulsarStaging =
            switch kind {
            case .tesp: throughTESP
            case .pulsar(let trusted):
                PulsarSideStaging(throughTESP: throughTESP.streamingOutputs(), transfers: transfers, trusted: trusted, served: configuration.servedInputs)
            }
        return PulsarRESTBackend(
            pulsar: pulsar,
            staging: staging,
            settings: .init(
                runtime: configuration.runtime,
                heartbeatInterval: configuration.heartbeatInterval,
                heartbeatTimeout: configuration.heartbeatTimeout,
                retry: RetryPolicy(grace: configuration.transientGrace)
            ),
            clock: clock
        )
    }

    /// A Pulsar server in message-queue mode: staging is always on the Pulsar host. Run ``QueueBackendService``
    /// with it (in an engine process) so that Pulsar's status updates reach it.
    public func pulsarQueue(_ queue: any PulsarMessages, trusted: Bool, logger: Logger) -> (backend: any ComputeBackend, updates: QueueBackendService) {
        let backend = PulsarQueueBackend(
            queue: queue,
            staging: PulsarSideStaging(throughTESP: throughTESPStaging().streamingOutputs(), transfers: transfers, trusted: trusted, served: configuration.servedInputs),
            settings: .init(
                runtime: configuration.runtime,
                heartbeatInterval: configuration.heartbeatInterval,
                statusRequestInterval: configuration.queueStatusRequestInterval,
                answerTimeout: configuration.queueAnswerTimeout,
                retry: RetryPolicy(grace: configuration.transientGrace)
            ),
            clock: clock,
            logger: logger
        )
        return (backend, QueueBackendService(backend: backend))
    }

    private func throughTESPStaging() -> ThroughTESPStaging {
        ThroughTESPStaging(
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
            )
        )
    }
}

/// Feeds a queue backend with Pulsar's status updates until graceful shutdown (a service of engine processes only:
/// an API-only process must not take the updates the engine needs).
public struct QueueBackendService: Service {
    let backend: PulsarQueueBackend

    public func run() async throws {
        // The updates stream ends when its task is cancelled: at graceful shutdown, or when the group ends.
        await cancelWhenGracefulShutdown { await backend.consumeUpdates() }
    }
}
