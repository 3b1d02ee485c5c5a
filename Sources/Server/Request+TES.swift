import Foundation
import Hummingbird
import TES

extension Request {
    /// The query parameters in order, with `+` as space and percent-escapes decoded in names and values
    /// (what `requests`, py-tes and browsers send).
    var decodedQueryItems: [(name: String, value: String)] {
        guard let query = uri.query, !query.isEmpty else { return [] }
        return query.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String {
                let spaced = part.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    /// The `view` query parameter (MINIMAL when absent).
    func tesView() throws -> TESView {
        guard let raw = decodedQueryItems.last(where: { $0.name == "view" })?.value, !raw.isEmpty else { return .minimal }
        guard let view = TESView(rawValue: raw) else {
            throw TESValidationError(field: "view", message: "must be MINIMAL, BASIC or FULL")
        }
        return view
    }
}

/// A JSON response made with the API's encoder (RFC 3339 times, no nulls).
func jsonResponse(_ value: some Encodable, status: HTTPResponse.Status = .ok, encoder: JSONEncoder) throws -> Response {
    let data = try encoder.encode(value)
    var headers = HTTPFields()
    headers[.contentType] = "application/json"
    return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
}
