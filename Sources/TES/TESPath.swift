/// Rules for paths inside the container: absolute and normalised, so that no path can climb out of the
/// directories the runner mounts.
///
/// Every rule works on the path's UTF-8 bytes, the way the kernel and bash read it. Swift's `String` compares
/// extended grapheme clusters, so `"/.." + "\u{301}"` would not *look* like it holds a `..` segment or a `/` to
/// `split(separator: "/")`, while to the file system it does.
public enum TESPath {
    private static let slash = UInt8(ascii: "/")
    private static let dot = UInt8(ascii: ".")

    /// Why `path` is not an acceptable container path, or `nil` if it is.
    ///
    /// Accepted: starts with `/`, no empty (`//`), `.` or `..` segment, no NUL or other control character
    /// (U+0000–U+001F, U+007F); one trailing `/` is allowed (the spec's own example is `/data/`). The root itself is
    /// refused unless `allowRoot` is set.
    public static func problem(with path: String, allowRoot: Bool = false) -> String? {
        let bytes = Array(path.utf8)
        guard bytes.first == slash else { return "must be an absolute path" }
        if bytes.contains(0) { return "must not contain NUL characters" }
        if bytes.contains(where: { $0 < 0x20 || $0 == 0x7F }) { return "must not contain control characters" }
        if bytes == [slash] { return allowRoot ? nil : "must not be the root directory" }
        let trimmed = bytes.last == slash ? bytes.dropLast() : bytes[...]
        for segment in trimmed.dropFirst().split(separator: slash, omittingEmptySubsequences: false) {
            if segment.isEmpty { return "must be normalised (no '//')" }
            if segment.elementsEqual([dot]) || segment.elementsEqual([dot, dot]) {
                return "must be normalised (no '.' or '..' segments)"
            }
        }
        return nil
    }

    /// Why `name`, one entry of a remote directory listing, must not become part of a path, or `nil` if it may:
    /// empty, `.`, `..`, or holding `/`, NUL, CR, LF or another control character.
    public static func problem(withListedName name: String) -> String? {
        let bytes = Array(name.utf8)
        if bytes.isEmpty { return "is empty" }
        if bytes == [dot] || bytes == [dot, dot] { return "is '.' or '..'" }
        if bytes.contains(slash) { return "contains '/'" }
        if bytes.contains(where: { $0 < 0x20 || $0 == 0x7F }) { return "contains a control character" }
        return nil
    }

    /// `path` without its trailing slash, for comparing paths (`/data/` and `/data` are the same directory).
    public static func normalised(_ path: String) -> String {
        var bytes = Array(path.utf8)
        guard bytes.count > 1, bytes.last == slash else { return path }
        bytes.removeLast()
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether `path` holds a POSIX pattern character (`*`, `?`, `[`).
    public static func hasWildcards(_ path: String) -> Bool {
        path.utf8.contains { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "[") }
    }

    /// Whether `path` is `directory` or lies below it, byte for byte.
    public static func isInside(_ path: String, directory: String) -> Bool {
        let path = Array(normalised(path).utf8)
        let directory = Array(normalised(directory).utf8)
        if path == directory || directory == [slash] { return true }
        return path.count > directory.count && path.starts(with: directory) && path[directory.count] == slash
    }

    /// The directory that holds `path` (`/` for a path directly under the root).
    public static func parent(of path: String) -> String {
        let bytes = Array(normalised(path).utf8)
        guard let slashIndex = bytes.lastIndex(of: slash), slashIndex != 0 else { return "/" }
        return String(decoding: bytes[..<slashIndex], as: UTF8.self)
    }

    /// The part of `path` below `directory` (`relative("/a/b/c", below: "/a")` is `b/c`), byte for byte; the
    /// caller has checked that `path` lies strictly inside `directory`.
    public static func relative(_ path: String, below directory: String) -> String {
        let base = normalised(directory)
        let skip = Array(base.utf8) == [slash] ? 1 : base.utf8.count + 1
        return String(decoding: Array(normalised(path).utf8).dropFirst(skip), as: UTF8.self)
    }

    /// `directory/relative`, with exactly one `/` between them.
    public static func joined(_ directory: String, _ relative: String) -> String {
        let base = normalised(directory)
        return (Array(base.utf8) == [slash] ? "" : base) + "/" + relative
    }
}
