import Foundation

/// The JSON coders of the TES HTTP API: RFC 3339 times, absent optionals omitted.
public enum TESJSON {
    /// An encoder for API responses.
    public static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(TESTime.format(date))
        }
        return encoder
    }

    /// A decoder for API requests and responses.
    ///
    /// Times a client sends are all server-owned fields that are ignored, so an unreadable time decodes as
    /// `Date.distantPast` rather than rejecting the request.
    public static func makeDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            return TESTime.parse(try container.decode(String.self)) ?? .distantPast
        }
        return decoder
    }
}
