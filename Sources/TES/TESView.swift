/// How much of a task a response includes (`view` query parameter).
public enum TESView: String, Codable, Sendable, CaseIterable {
    /// Only `id` and `state`.
    case minimal = "MINIMAL"
    /// Everything but executor stdout/stderr, input `content` and `system_logs`.
    case basic = "BASIC"
    /// Everything.
    case full = "FULL"
}
