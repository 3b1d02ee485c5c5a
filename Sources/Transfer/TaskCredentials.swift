import TES

/// Passwords in a task's URLs, kept apart from the task: the stored and shown task has its URLs without passwords
/// (the user name stays), and the passwords are stored in a field no view returns.
public enum TaskCredentials {
    /// The key a password is stored under: the server and the user.
    public static func key(for url: StorageURL) -> String {
        "\(url.origin)#\(url.user ?? "")"
    }

    /// `task` with every password removed from its input and output URLs, and the passwords by ``key(for:)``.
    public static func extract(from task: TESTask) -> (task: TESTask, secrets: [String: String]) {
        var task = task
        var secrets: [String: String] = [:]
        func strip(_ text: String?) -> String? {
            guard let text, let url = StorageURL(text), let password = url.password else { return text }
            secrets[key(for: url)] = password
            return url.withoutPassword.text
        }
        task.inputs = task.inputs?.map { input in
            var input = input
            input.url = strip(input.url)
            return input
        }
        task.outputs = task.outputs?.map { output in
            var output = output
            output.url = strip(output.url)
            return output
        }
        return (task, secrets)
    }
}
