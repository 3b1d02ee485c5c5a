/// Which container image names a task may give.
///
/// The image reaches a container runtime's command line, so a name must never be readable as an option
/// (`--privileged`, `--volume=/:/host`) or as anything but an image. Accepted:
/// - an OCI image reference (the grammar of `distribution/reference`): `ubuntu`, `ubuntu:24.04`,
///   `quay.io/biocontainers/samtools:1.19--h50ea8bc_0`, `localhost:5000/x/y@sha256:…`;
/// - Singularity/Apptainer's forms: `docker://` or `oras://` followed by an OCI reference, `library://` or
///   `shub://` followed by a path of `[A-Za-z0-9._/:@-]`;
/// - an absolute, normalised path on the compute host (a `.sif` file, a CVMFS image directory), of `[A-Za-z0-9._/+:-]`.
public enum TESImage {
    /// Why `image` is not an acceptable image name, or `nil` if it is.
    public static func problem(with image: String) -> String? {
        if image.isEmpty { return "required, but empty" }
        if image.utf8.first == UInt8(ascii: "-") { return "must not start with '-'" }
        if image.utf8.count > 1024 { return "must be at most 1024 bytes long" }
        if image.utf8.first == UInt8(ascii: "/") {
            if TESPath.problem(with: image) != nil || !image.utf8.allSatisfy(isPathByte) {
                return "must be a normalised absolute path of letters, digits and ._/+-: when it names a file"
            }
            return nil
        }
        for scheme in ["docker://", "oras://"] where image.hasPrefix(scheme) {
            return isOCIReference(String(image.dropFirst(scheme.count))) ? nil : invalid
        }
        for scheme in ["library://", "shub://"] where image.hasPrefix(scheme) {
            let rest = image.utf8.dropFirst(scheme.utf8.count)
            guard let first = rest.first, isAlphanumeric(first), rest.allSatisfy(isLibraryByte) else { return invalid }
            return nil
        }
        return isOCIReference(image) ? nil : invalid
    }

    private static let invalid =
        "must be an image reference such as ubuntu:24.04 or quay.io/org/name@sha256:… (OCI grammar), "
        + "a docker://, oras://, library:// or shub:// reference, or an absolute path"

    /// `[domain/]path[:tag][@digest]` as `distribution/reference` defines it.
    static func isOCIReference(_ text: String) -> Bool {
        var rest = Substring(text)
        if let at = rest.firstIndex(of: "@") {
            guard isDigest(rest[rest.index(after: at)...]) else { return false }
            rest = rest[..<at]
        }
        // A tag follows the last ':' that comes after the last '/' (a ':' before it belongs to a port).
        let lastSlash = rest.lastIndex(of: "/")
        if let colon = rest.lastIndex(of: ":"), lastSlash.map({ colon > $0 }) ?? true {
            guard isTag(rest[rest.index(after: colon)...]) else { return false }
            rest = rest[..<colon]
        }
        guard !rest.isEmpty, rest.utf8.count <= 255 else { return false }
        var components = rest.split(separator: "/", omittingEmptySubsequences: false)
        // The first component is a domain if it looks like one: it has a '.' or a ':', or is "localhost".
        if components.count > 1, let first = components.first,
            first.contains(".") || first.contains(":") || first == "localhost"
        {
            guard isDomain(first) else { return false }
            components.removeFirst()
        }
        return components.allSatisfy(isPathComponent)
    }

    /// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
    static func isPathComponent(_ text: Substring) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, let last = bytes.last, isLowerAlphanumeric(first), isLowerAlphanumeric(last)
        else { return false }
        var index = 0
        while index < bytes.count {
            if isLowerAlphanumeric(bytes[index]) {
                index += 1
                continue
            }
            // A separator: '.', '_', '__' or a run of '-', always followed by an alphanumeric (the last is one).
            var end = index
            if bytes[index] == UInt8(ascii: "-") {
                while end < bytes.count, bytes[end] == UInt8(ascii: "-") { end += 1 }
            } else if bytes[index] == UInt8(ascii: "_") {
                end += bytes.count > index + 1 && bytes[index + 1] == UInt8(ascii: "_") ? 2 : 1
            } else if bytes[index] == UInt8(ascii: ".") {
                end += 1
            } else {
                return false
            }
            guard end < bytes.count, isLowerAlphanumeric(bytes[end]) else { return false }
            index = end
        }
        return true
    }

    /// `host[:port]`: dot-separated labels of letters, digits and inner '-', or a bracketed IPv6 address.
    static func isDomain(_ text: Substring) -> Bool {
        var host = text
        if let colon = text.lastIndex(of: ":"), !text.hasSuffix("]") {
            let port = text[text.index(after: colon)...]
            guard !port.isEmpty, port.utf8.count <= 5, port.utf8.allSatisfy(isDigit) else { return false }
            host = text[..<colon]
        }
        if host.hasPrefix("[") {
            guard host.hasSuffix("]"), host.count > 2 else { return false }
            return host.dropFirst().dropLast().utf8.allSatisfy { isHexDigit($0) || $0 == UInt8(ascii: ":") }
        }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        return !labels.isEmpty
            && labels.allSatisfy { label in
                let bytes = Array(label.utf8)
                guard let first = bytes.first, let last = bytes.last, isAlphanumeric(first), isAlphanumeric(last)
                else { return false }
                return bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") }
            }
    }

    /// `[\w][\w.-]{0,127}`
    static func isTag(_ text: Substring) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, isWord(first), bytes.count <= 128 else { return false }
        return bytes.allSatisfy { isWord($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    /// `algorithm:hex` with at least 32 hex digits (`sha256:…`).
    static func isDigest(_ text: Substring) -> Bool {
        guard let colon = text.firstIndex(of: ":") else { return false }
        let algorithm = text[..<colon].utf8
        let hex = text[text.index(after: colon)...].utf8
        guard let first = algorithm.first, isLetter(first), hex.count >= 32 else { return false }
        return algorithm.allSatisfy { isAlphanumeric($0) || "-_+.".utf8.contains($0) } && hex.allSatisfy(isHexDigit)
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    private static func isLetter(_ b: UInt8) -> Bool { (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) }
    private static func isAlphanumeric(_ b: UInt8) -> Bool { isDigit(b) || isLetter(b) }
    private static func isLowerAlphanumeric(_ b: UInt8) -> Bool { isDigit(b) || (b >= 0x61 && b <= 0x7A) }
    private static func isWord(_ b: UInt8) -> Bool { isAlphanumeric(b) || b == UInt8(ascii: "_") }
    private static func isHexDigit(_ b: UInt8) -> Bool {
        isDigit(b) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66)
    }
    private static func isPathByte(_ b: UInt8) -> Bool { isAlphanumeric(b) || "._/+-:".utf8.contains(b) }
    private static func isLibraryByte(_ b: UInt8) -> Bool { isAlphanumeric(b) || "._/:@-".utf8.contains(b) }
}
