/// Why the engine gives up on a task: a SYSTEM_ERROR with a message for `system_logs` (no credentials in it).
struct TaskFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) { self.description = description }
}
