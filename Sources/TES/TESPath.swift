/// Rules for paths inside the container: absolute and normalised, so that no path can climb out of the
/// directories the runner mounts.
public enum TESPath {
    /// Why `path` is not an acceptable container path, or `nil` if it is.
    ///
    /// Accepted: starts with `/`, no empty (`//`), `.` or `..` segment, no NUL; one trailing `/` is allowed
    /// (the spec's own example is `/data/`). The root itself is refused unless `allowRoot` is set.
    public static func problem(with path: String, allowRoot: Bool = false) -> String? {
        guard path.hasPrefix("/") else { return "must be an absolute path" }
        if path.utf8.contains(0) { return "must not contain NUL characters" }
        if path == "/" { return allowRoot ? nil : "must not be the root directory" }
        let trimmed = path.hasSuffix("/") ? path.dropLast() : Substring(path)
        for segment in trimmed.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            switch segment {
            case "": return "must be normalised (no '//')"
            case ".", "..": return "must be normalised (no '.' or '..' segments)"
            default: continue
            }
        }
        return nil
    }

    /// `path` without its trailing slash, for comparing paths (`/data/` and `/data` are the same directory).
    public static func normalised(_ path: String) -> String {
        path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }

    /// Whether `path` holds a POSIX pattern character (`*`, `?`, `[`).
    public static func hasWildcards(_ path: String) -> Bool {
        path.contains { $0 == "*" || $0 == "?" || $0 == "[" }
    }

    /// Whether `path` is `directory` or lies below it.
    public static func isInside(_ path: String, directory: String) -> Bool {
        let path = normalised(path)
        let directory = normalised(directory)
        return path == directory || directory == "/" || path.hasPrefix(directory + "/")
    }
}
