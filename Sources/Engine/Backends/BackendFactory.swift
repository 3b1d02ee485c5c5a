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

    /// A Pulsar server over REST, its files staged through this server.
    public func pulsarREST(_ pulsar: any PulsarJobs) -> any ComputeBackend {
        let staging = ThroughTESPStaging(
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
