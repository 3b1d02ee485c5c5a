import Auth
import Engine
import TES
import Transfer

/// What the HTTP layer needs to know, filled from the settings by `tesp serve`.
public struct ServerConfiguration: Sendable {
    /// Bodies above this size get 413.
    public var maxBodyBytes: Int
    public var limits: TESValidationLimits
    public var serviceInfo: TESServiceInfo
    /// Swagger UI's dist directory, or empty for no Swagger UI (it is never loaded from a CDN).
    public var swaggerUIDir: String
    /// What `/readyz` asks.
    public var readinessChecks: [ReadinessCheck]
    /// The metrics in Prometheus' text format, served at `/metrics`; `nil`: no `/metrics`.
    public var metricsText: (@Sendable () -> String)?
    /// How callers of the task endpoints prove who they are.
    public var authentication: RequestAuthentication
    /// Which tasks each caller sees.
    public var access: AccessRules
    /// Origins whose web pages may call the API (CORS); others' state-changing requests get 403.
    public var corsAllowedOrigins: Set<String>
    /// A page of `GET /tasks` ends early, with a next page token, once its tasks add up to this many bytes.
    public var maxListBytes: Int
    /// `GET /tasks?view=FULL` answers built at once; more wait their turn.
    public var maxConcurrentFullLists: Int
    /// Unfinished tasks one owner may have (all tasks together without authentication); 0: no limit.
    public var maxActiveTasksPerOwner: Int
    /// Why no configured backend could ever run a task (`nil`: one can), checked at creation so that a task
    /// that fits nowhere is a 400 naming the field, not a SYSTEM_ERROR later.
    public var placementProblem: (@Sendable (TESTask) -> TESValidationError.Problem?)?
    /// Inputs served to backends at ``ServedInputURLs`` (`server.public_url` set), read through `transfers`.
    public var servedInputs: (urls: ServedInputURLs, transfers: Transfers)?

    public init(
        maxBodyBytes: Int,
        limits: TESValidationLimits,
        serviceInfo: TESServiceInfo,
        swaggerUIDir: String = "",
        readinessChecks: [ReadinessCheck] = [],
        metricsText: (@Sendable () -> String)? = nil,
        authentication: RequestAuthentication = .none,
        access: AccessRules = .open,
        corsAllowedOrigins: Set<String> = [],
        maxListBytes: Int = 16 * 1024 * 1024,
        maxConcurrentFullLists: Int = 4,
        maxActiveTasksPerOwner: Int = 0
    ) {
        self.maxActiveTasksPerOwner = maxActiveTasksPerOwner
        self.maxListBytes = maxListBytes
        self.maxConcurrentFullLists = maxConcurrentFullLists
        self.corsAllowedOrigins = corsAllowedOrigins
        self.maxBodyBytes = maxBodyBytes
        self.limits = limits
        self.serviceInfo = serviceInfo
        self.swaggerUIDir = swaggerUIDir
        self.readinessChecks = readinessChecks
        self.metricsText = metricsText
        self.authentication = authentication
        self.access = access
    }
}
