/// Whether an input or output is a single file or a directory tree (`tesFileType`).
public enum TESFileType: String, Codable, Sendable, CaseIterable {
    case file = "FILE"
    case directory = "DIRECTORY"
}
