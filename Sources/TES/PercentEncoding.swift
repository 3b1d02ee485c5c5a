/// Percent-encoding of every byte but RFC 3986's unreserved characters (`A-Z a-z 0-9 - _ . ~`): the form AWS
/// Signature V4 canonicalises to, and one every query parser reads back exactly (`+`, `&`, `=`, spaces included).
/// Used for S3 keys and queries, DRS object ids and Pulsar's query strings.
public enum PercentEncoding {
    private static let hex = Array("0123456789ABCDEF".utf8)

    /// `text` with every byte but the unreserved ones (and `/`, when `keepingSlashes`, for paths) as `%XX`.
    public static func unreservedOnly(_ text: String, keepingSlashes: Bool = false) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                bytes.append(byte)
            case UInt8(ascii: "/") where keepingSlashes:
                bytes.append(byte)
            default:
                bytes += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A query string: the pairs sorted by name (the order AWS Signature V4 signs; libcurl 7.88 signs the query
    /// as given), each side encoded by ``unreservedOnly(_:keepingSlashes:)``.
    public static func query(_ pairs: [(String, String)]) -> String {
        pairs.sorted { $0.0 < $1.0 }.map { unreservedOnly($0.0) + "=" + unreservedOnly($0.1) }.joined(separator: "&")
    }
}
