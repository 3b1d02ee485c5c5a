/// Quoting for the bash job script: every string becomes exactly one word, whatever it holds.
public enum ShellQuote {
    /// `value` in single quotes, with each `'` written as `'\''`. Single quotes stop every expansion
    /// (`$`, backticks, globs, `;`, `~`), and an empty string stays an (empty) argument.
    public static func quote(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }

    /// An argv as one shell command line.
    public static func join(_ argv: [String]) -> String {
        argv.map(quote).joined(separator: " ")
    }
}
