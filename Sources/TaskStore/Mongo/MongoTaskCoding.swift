import Foundation
import TES

/// How a task is written to and read from a MongoDB document.
///
/// The document keeps the TES field names. Two things differ from the API's JSON: times are BSON dates
/// (extended JSON `$date`), and `tags` is a list of `{key, value}` pairs so that any tag key can be indexed and
/// matched (see ``CodingUserInfoKey/tesTagsAsKeyValueList``).
enum MongoTaskCoding {
    static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.userInfo[.tesTagsAsKeyValueList] = true
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.container(keyedBy: DateKeys.self)
            var nested = container.nestedContainer(keyedBy: NumberLongKeys.self, forKey: .date)
            let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
            try nested.encode(String(milliseconds), forKey: .numberLong)
        }
        return encoder
    }

    static func makeDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.userInfo[.tesTagsAsKeyValueList] = true
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.container(keyedBy: DateKeys.self)
            // Relaxed extended JSON writes dates from 1970 to 9999 as ISO strings and others as $numberLong.
            if let iso = try? container.decode(String.self, forKey: .date) {
                guard let date = TESTime.parse(iso) else {
                    throw DecodingError.dataCorruptedError(forKey: .date, in: container, debugDescription: "bad date")
                }
                // Rebuild from whole milliseconds so the value is bit-identical to the one that was stored.
                return Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1000).rounded() / 1000)
            }
            let nested = try container.nestedContainer(keyedBy: NumberLongKeys.self, forKey: .date)
            let text = try nested.decode(String.self, forKey: .numberLong)
            guard let milliseconds = Int64(text) else {
                throw DecodingError.dataCorruptedError(forKey: .numberLong, in: nested, debugDescription: "bad date")
            }
            return Date(timeIntervalSince1970: Double(milliseconds) / 1000)
        }
        return decoder
    }

    /// A value as embedded extended JSON, for use inside a ``MongoJSON`` command.
    static func json(_ value: some Encodable) throws -> MongoJSON {
        do {
            return .raw(String(decoding: try makeEncoder().encode(value), as: UTF8.self))
        } catch {
            throw TaskStoreError(.failed, "a task could not be encoded for the store")
        }
    }

    private enum DateKeys: String, CodingKey {
        case date = "$date"
    }

    private enum NumberLongKeys: String, CodingKey {
        case numberLong = "$numberLong"
    }
}
