/// Credentials in a task's URLs, kept apart from the task: the stored and shown task has its URLs without passwords
/// (the user name stays) and with signature and token query parameters redacted; the passwords and the full
/// queries are stored in a field no view returns.
public enum TaskCredentials {
    /// The key a password is stored under: the server and the user.
    public static func key(for url: StorageURL) -> String {
        "\(url.origin)#\(url.user ?? "")"
    }

    /// The key a URL's full query is stored under: the server and the path.
    public static func queryKey(for url: StorageURL) -> String {
        "?\(url.origin)\(url.path)"
    }

    /// `task` with every password and credential query value removed from its input and output URLs, and what was
    /// removed, by ``key(for:)`` and ``queryKey(for:)``.
    public static func extract(from task: TESTask) -> (task: TESTask, secrets: [String: String]) {
        var secrets: [String: String] = [:]
        func strip(_ text: String?) -> String? {
            guard let text, let url = StorageURL(text), url.password != nil || url.hasSecretQuery else { return text }
            if let password = url.password { secrets[key(for: url)] = password }
            if url.hasSecretQuery, let query = url.query { secrets[queryKey(for: url)] = query }
            return url.withoutSecrets.text
        }
        let stripped = mappingURLs(of: task, strip)  // fills `secrets`
        return (stripped, secrets)
    }

    /// `task` with every password and credential query put back into its URLs: what a backend trusted with the
    /// credentials (another TES server) must be sent.
    public static func restoring(_ task: TESTask, from secrets: [String: String]) -> TESTask {
        func restore(_ text: String?) -> String? {
            guard let text, let stored = StorageURL(text) else { return text }
            var url = restoringQuery(of: stored, from: secrets)
            if url.user != nil, let password = secrets[key(for: url)] { url.password = password }
            return url == stored ? text : url.text
        }
        return mappingURLs(of: task, restore)
    }

    /// `task` with `transform` applied to the URL of every input and output.
    private static func mappingURLs(of task: TESTask, _ transform: (String?) -> String?) -> TESTask {
        var task = task
        task.inputs = task.inputs?.map { input in
            var input = input
            input.url = transform(input.url)
            return input
        }
        task.outputs = task.outputs?.map { output in
            var output = output
            output.url = transform(output.url)
            return output
        }
        return task
    }

    /// The URL a stored task names, with its real query back in place of the redacted one.
    public static func restoringQuery(of url: StorageURL, from secrets: [String: String]) -> StorageURL {
        guard let query = secrets[queryKey(for: url)] else { return url }
        var restored = url
        restored.query = query
        return restored
    }
}
