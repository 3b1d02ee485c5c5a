import Hummingbird

/// The methods each API path answers, so that another method on a known path is a 405 (with `Allow`), not a 404.
enum APIRoutes {
    /// The methods `path` answers, or `nil` when no route has that path.
    static func allowedMethods(for path: String) -> [HTTPRequest.Method]? {
        guard let prefix = tesAPIPrefixes.first(where: { path.hasPrefix($0 + "/") }) else { return nil }
        let rest = path.dropFirst(prefix.count + 1)
        switch rest {
        case "tasks": return [.get, .post]
        case "service-info", "openapi.yaml": return [.get]
        default:
            guard rest.hasPrefix("tasks/"), !rest.dropFirst("tasks/".count).contains("/"), rest.count > "tasks/".count else {
                return nil
            }
            return rest.hasSuffix(":cancel") ? [.post] : [.get]
        }
    }
}
