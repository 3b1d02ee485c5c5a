import Foundation
import Hummingbird

/// The one error response of the API: a status and `{"code": <status>, "message": "<what and which field>"}`.
public struct APIError: HTTPResponseError, CustomStringConvertible {
    public let status: HTTPResponse.Status
    public let message: String
    /// For 405: the methods the path answers.
    public let allowedMethods: [HTTPRequest.Method]
    /// More headers of the response (`WWW-Authenticate` of a 401).
    public let headers: HTTPFields

    public init(
        _ status: HTTPResponse.Status,
        _ message: String,
        allowedMethods: [HTTPRequest.Method] = [],
        headers: HTTPFields = [:]
    ) {
        self.status = status
        self.message = message
        self.allowedMethods = allowedMethods
        self.headers = headers
    }

    public var description: String { "\(status.code) \(message)" }

    struct Body: Codable {
        let code: Int
        let message: String
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let data = try encoder.encode(Body(code: status.code, message: message))
        var headers = self.headers
        headers[.contentType] = "application/json"
        if status == .serviceUnavailable { headers[.retryAfter] = "1" }
        if !allowedMethods.isEmpty { headers[.allow] = allowedMethods.map(\.rawValue).joined(separator: ", ") }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
