/// Quoting for the bash job script: every string becomes exactly one word, whatever it holds.
public enum ShellQuote {
    /// `value` in single quotes, with each `'` written as `'\''`. Single quotes stop every expansion
    /// (`$`, backticks, globs, `;`, `~`), and an empty string stays an (empty) argument.
    ///
    /// The quote is found among the UTF-8 bytes, which is what bash reads. Swift's `replacingOccurrences` and
    /// `==` compare extended grapheme clusters: `'` followed by a combining mark is one `Character` that is not
    /// `"'"`, yet its first byte closes the quote in bash. In valid UTF-8 the byte 0x27 is only ever U+0027, so
    /// working on Unicode scalars is working on bytes. NUL cannot be passed in an argument at all: validation
    /// refuses it in every field that reaches a job script.
    public static func quote(_ value: String) -> String {
        var out = "'"
        out.reserveCapacity(value.utf8.count + 2)
        for scalar in value.unicodeScalars {
            if scalar == "'" {
                out.unicodeScalars.append(contentsOf: #"'\''"#.unicodeScalars)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        out.unicodeScalars.append("'")
        return out
    }

    /// An argv as one shell command line.
    public static func join(_ argv: [String]) -> String {
        argv.map(quote).joined(separator: " ")
    }
}
