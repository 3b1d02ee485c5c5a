import JobScript

/// How the engine runs tasks; `tesp serve` fills it from the settings.
public struct EngineConfiguration: Sendable {
    /// How executors are started on the Pulsar hosts.
    public var runtime: ContainerRuntime
    /// The first wait between status polls of a job just submitted.
    public var pollInitial: Duration
    /// The longest wait between polls of a long job.
    public var pollMax: Duration
    /// Each poll that finds the job still running waits this much longer than the previous one.
    public var pollGrowth: Double
    /// Status calls in flight at once, over all tasks.
    public var maxConcurrentPolls: Int
    /// Tasks being set up (job created, files uploaded, submitted) at once.
    public var maxStartingTasks: Int
    /// How often the store is scanned for tasks that need the engine (besides the wake-ups from the API).
    public var scanInterval: Duration
    /// How long Pulsar may fail to answer (refused, 5xx, timeouts) before a task fails.
    public var transientGrace: Duration
    /// A task running longer is stopped and fails; `nil`: no limit.
    public var maxTaskDuration: Duration?
    /// Keep the Pulsar job directory of a task that did not complete, for debugging.
    public var keepFailedJobs: Bool
    /// How often a running job script shows it is alive.
    public var heartbeatInterval: Duration
    /// A running job whose heartbeat has not changed for this long has died: the task fails.
    public var heartbeatTimeout: Duration
    /// Where inputs and outputs pass through on their way between storage and Pulsar.
    public var stagingDirectory: String
    /// Where a backend that stages its own inputs can fetch from TESP those it may not read alone
    /// (`server.public_url`); `nil`: they pass through `stagingDirectory`.
    public var servedInputs: ServedInputURLs? = nil
    /// Files of one task transferred at once.
    public var transfersPerTask: Int
    /// Files of one owner's tasks transferred at once (tasks with an owner only); 0: no limit.
    public var transfersPerOwner: Int
    /// How a backend is chosen for a task.
    public var placementPolicy: PlacementPolicyKind
    /// How often every backend's health is checked, and how long one check may take.
    public var healthInterval: Duration
    public var healthTimeout: Duration
    /// Every this many scans, the store is read for every non-terminal task, not only QUEUED and CANCELING ones.
    public var fullScanEvery: Int
    /// The most status calls a second to one backend, whatever the number of tasks (0: no limit).
    public var statusCallsPerSecond: Double
    /// The longest a graceful shutdown waits for the runners to stop; the tasks of those still stopping then are
    /// left as the store has them, for the next start.
    public var shutdownTimeout: Duration
    /// Queue backends: how long a job may go unheard of before its status is asked for, and how long Pulsar may
    /// leave the request unanswered.
    public var queueStatusRequestInterval: Duration
    public var queueAnswerTimeout: Duration
    /// The most waiting tasks the scheduler looks at in one go, between other events.
    public var placementBatch: Int
    /// How far before the newest QUEUED task seen a light scan reads QUEUED tasks again: tasks created by another
    /// process whose id is older than that (its clock is behind by more) wait for the next full scan.
    public var queuedLookback: Duration

    /// How long a task's lease lasts without a renewal: after a process dies, others take its tasks within this
    /// time and a scan interval.
    public var leaseDuration: Duration
    /// This process's name in leases (``LeaseKeeper/makeHolderName()``).
    public var leaseHolder: String
    /// At most this many tasks no process drives are taken by one scan (the rest by the next).
    public var takeoverBatch: Int

    public init(
        runtime: ContainerRuntime,
        pollInitial: Duration = .milliseconds(50),
        pollMax: Duration = .seconds(10),
        pollGrowth: Double = 1.5,
        maxConcurrentPolls: Int = 32,
        maxStartingTasks: Int = 16,
        scanInterval: Duration = .seconds(5),
        transientGrace: Duration = .seconds(600),
        maxTaskDuration: Duration? = nil,
        keepFailedJobs: Bool = false,
        heartbeatInterval: Duration = .seconds(10),
        heartbeatTimeout: Duration = .seconds(120),
        stagingDirectory: String = "/tmp/tesp-staging",
        transfersPerTask: Int = 4,
        transfersPerOwner: Int = 0,
        placementPolicy: PlacementPolicyKind = .leastLoaded,
        healthInterval: Duration = .seconds(10),
        healthTimeout: Duration = .seconds(5),
        fullScanEvery: Int = 12,
        statusCallsPerSecond: Double = 50,
        shutdownTimeout: Duration = .seconds(30),
        queueStatusRequestInterval: Duration = .seconds(1800),
        queueAnswerTimeout: Duration = .seconds(120),
        placementBatch: Int = 64,
        queuedLookback: Duration = .seconds(60),
        leaseDuration: Duration = .seconds(30),
        leaseHolder: String = LeaseKeeper.makeHolderName(),
        takeoverBatch: Int = 500
    ) {
        self.runtime = runtime
        self.pollInitial = pollInitial
        self.pollMax = pollMax
        self.pollGrowth = pollGrowth
        self.maxConcurrentPolls = maxConcurrentPolls
        self.maxStartingTasks = maxStartingTasks
        self.scanInterval = scanInterval
        self.transientGrace = transientGrace
        self.maxTaskDuration = maxTaskDuration
        self.keepFailedJobs = keepFailedJobs
        self.heartbeatInterval = heartbeatInterval
        self.heartbeatTimeout = heartbeatTimeout
        self.stagingDirectory = stagingDirectory
        self.transfersPerTask = max(1, transfersPerTask)
        self.transfersPerOwner = max(0, transfersPerOwner)
        self.placementPolicy = placementPolicy
        self.healthInterval = healthInterval
        self.healthTimeout = healthTimeout
        self.fullScanEvery = max(1, fullScanEvery)
        self.statusCallsPerSecond = statusCallsPerSecond
        self.shutdownTimeout = shutdownTimeout
        self.queueStatusRequestInterval = queueStatusRequestInterval
        self.queueAnswerTimeout = queueAnswerTimeout
        self.placementBatch = max(1, placementBatch)
        self.queuedLookback = queuedLookback
        self.leaseDuration = max(.seconds(1), leaseDuration)
        self.leaseHolder = leaseHolder
        self.takeoverBatch = max(1, takeoverBatch)
    }
}
