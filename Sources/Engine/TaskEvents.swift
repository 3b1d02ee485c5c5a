/// What the HTTP API tells the engine, so that it acts at once rather than at its next scan of the store.
public protocol TaskEvents: Sendable {
    /// A task was stored as QUEUED.
    func taskCreated(id: String)
    /// A cancel request moved a task to CANCELING (or CANCELED).
    func cancelRequested(id: String)
}
