import TES

/// Removes credentials from text before it is logged, stored in `system_logs`, or shown to a client.
public enum Redaction {
    /// `text` with the password of every `scheme://user:password@` and the value of every credential query
    /// parameter (``StorageURL/secretQueryParameters`` after a `?` or `&`) replaced by `***`.
    public static func redact(_ text: String) -> String {
        redactQueries(redactPasswords(text))
    }

    private static func redactQueries(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        let stops = Set("&# \"'\n\t\r<>".utf8)
        while index < bytes.count {
            let byte = bytes[index]
            out.append(byte)
            index += 1
            guard byte == UInt8(ascii: "?") || byte == UInt8(ascii: "&") else { continue }
            // A parameter name up to '=', lowercased (ASCII), compared with the credential names.
            guard let equals = bytes[index...].prefix(40).firstIndex(of: UInt8(ascii: "=")) else { continue }
            let name = String(decoding: bytes[index..<equals].map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self)
            guard StorageURL.secretQueryParameters.contains(name) else { continue }
            out += bytes[index...equals]
            out += Array("***".utf8)
            index = equals + 1
            while index < bytes.count, !stops.contains(bytes[index]) { index += 1 }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func redactPasswords(_ text: String) -> String {
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
