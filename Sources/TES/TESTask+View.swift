extension TESTask {
    /// The task as a response in `view` shows it.
    ///
    /// Stores that can project in their query (MongoDB) do that instead; this is the reference they are tested
    /// against, and what in-memory stores use.
    public func projected(to view: TESView) -> TESTask {
        switch view {
        case .minimal:
            return TESTask(id: id, state: state)
        case .basic:
            var task = self
            task.inputs = inputs?.map { input in
                var input = input
                input.content = nil
                return input
            }
            task.logs = logs?.map { log in
                var log = log
                log.systemLogs = nil
                log.logs = log.logs.map { executorLog in
                    var executorLog = executorLog
                    executorLog.stdout = nil
                    executorLog.stderr = nil
                    return executorLog
                }
                return log
            }
            return task
        case .full:
            return self
        }
    }
}
