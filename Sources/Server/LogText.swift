/// Client-supplied text made safe for a log line: control characters (CR and LF above all, which would start a
/// forged line) are written as `\u{…}` escapes, and long values are cut, saying how long they were.
public enum LogText {
    /// The most of one message or metadata value a log line keeps.
    public static let maxBytes = 1024

    public static func sanitized(_ text: String, maxBytes: Int = maxBytes) -> String {
        var out = ""
        var kept = 0
        for scalar in text.unicodeScalars {
            let piece = isControl(scalar) || scalar == "\u{2028}" || scalar == "\u{2029}" ? escaped(scalar) : String(scalar)
            if kept + piece.utf8.count > maxBytes {
                return out + "…(\(text.utf8.count) bytes)"
            }
            out += piece
            kept += piece.utf8.count
        }
        return out
    }

    /// `text` for a terminal: escape sequences (ESC, CSI and every other control character but newline and tab)
    /// written as `\u{…}`, so that a task's name or logs cannot move the cursor, retitle the window or worse.
    public static func terminalSafe(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar == "\n" || scalar == "\t" || !isControl(scalar) {
                out.unicodeScalars.append(scalar)
            } else {
                out += escaped(scalar)
            }
        }
        return out
    }

    /// C0 and C1 control characters and DEL.
    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value)
    }

    private static func escaped(_ scalar: Unicode.Scalar) -> String {
        "\\u{" + String(scalar.value, radix: 16) + "}"
    }
}
