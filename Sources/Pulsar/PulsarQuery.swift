/// The query string of a Pulsar call, built by hand: URLComponents costs more than the rest of a status call's
/// own work on Linux, and status calls are TESP's most frequent.
enum PulsarQuery {
    /// `name=value` pairs sorted by name, each percent-encoded but for RFC 3986's unreserved characters (so `+`,
    /// `&`, `=`, `;` and spaces in a command line reach Pulsar as they are).
    static func encode(_ pairs: [(String, String)]) -> String {
        var out = ""
        for (index, (name, value)) in pairs.sorted(by: { $0.0 < $1.0 }).enumerated() {
            if index > 0 { out += "&" }
            append(name, to: &out)
            out += "="
            append(value, to: &out)
        }
        return out
    }

    private static let hex = Array("0123456789ABCDEF".utf8)

    private static func append(_ text: String, to out: inout String) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                bytes.append(byte)
            default:
                bytes += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            }
        }
        out += String(decoding: bytes, as: UTF8.self)
    }
}
