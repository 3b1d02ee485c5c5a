import Foundation

/// The opaque `page_token` of `GET /tasks`: the id of the last task of the previous page, base64url-encoded.
///
/// Paging is keyset-based: the next page holds tasks with smaller ids (older tasks), so tasks created meanwhile
/// never shift a page and no task is skipped or repeated.
public enum TESPageToken {
    /// The token that continues after the task with `lastID`.
    public static func make(after lastID: String) -> String {
        Data(lastID.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// The task id a token continues after, or `nil` if the token is not one this server made.
    public static func lastID(from token: String) -> String? {
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let id = String(data: data, encoding: .utf8),
            TESTaskID.isWellFormed(id)
        else { return nil }
        return id
    }
}
