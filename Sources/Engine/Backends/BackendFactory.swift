import Pulsar
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
        let throughTESP = ThroughTESPStaging(
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
}
