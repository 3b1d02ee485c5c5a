/// The files a job script prints to its stdout as it exits when ``JobScript/reportsOnStdout`` is set: each between
/// a `TESP-REPORT-BEGIN <path>` line and a `TESP-REPORT-END` line. The files hold only JSON lines with base64
/// strings, so a marker line cannot occur inside one.
public struct JobReport: Sendable, Equatable {
    public static let begin = "TESP-REPORT-BEGIN "
    public static let end = "TESP-REPORT-END"

    /// Each reported file's contents by its path relative to the working directory (``JobScript/recordsPath``,
    /// ``JobScript/outputsPath``); the last report wins.
    public var files: [String: String]

    public init(files: [String: String] = [:]) {
        self.files = files
    }

    /// Reads the report out of a job's stdout; anything else there is ignored, and a file whose end marker is
    /// missing (the stdout was cut) is left out.
    public init(parsing stdout: String) {
        self.init()
        var current: (path: String, lines: [Substring])?
        for line in stdout.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix(Self.begin) {
                current = (String(line.dropFirst(Self.begin.count)), [])
            } else if line == Self.end, let open = current {
                files[open.path] = open.lines.joined(separator: "\n")
                current = nil
            } else if current != nil {
                current!.lines.append(line)
            }
        }
    }
}
