/// Removes credentials from text before it is logged, stored in `system_logs`, or shown to a client.
public enum Redaction {
    /// `text` with the password of every `scheme://user:password@` replaced by `***`.
    public static func redact(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let schemeEnd = rest.range(of: "://") {
            out += rest[..<schemeEnd.upperBound]
            rest = rest[schemeEnd.upperBound...]
            // The authority ends at the first '/', '?', '#' or whitespace; its userinfo at the last '@' in it.
            let authorityEnd = rest.firstIndex { "/?#\"' \n\t".contains($0) } ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            if let at = authority.lastIndex(of: "@") {
                let userinfo = authority[..<at]
                if let colon = userinfo.firstIndex(of: ":") {
                    out += userinfo[..<colon] + ":***"
                } else {
                    out += userinfo
                }
                out += authority[at...]
            } else {
                out += authority
            }
            rest = rest[authorityEnd...]
        }
        return out + rest
    }
}
