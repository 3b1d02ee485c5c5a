import CMongoc
import Foundation

/// Owns one `bson_t` made by libbson and frees it.
///
/// Not Sendable: a document is made, used and destroyed inside one call on one of the store's threads.
final class BSONDocument {
    /// The `bson_t *` (Swift imports it as OpaquePointer; see the shim header).
    let pointer: OpaquePointer

    /// Takes ownership of a `bson_t *` that libbson allocated.
    init(owning pointer: OpaquePointer) {
        self.pointer = pointer
    }

    /// Parses extended JSON.
    convenience init(_ json: MongoJSON) throws {
        let text = json.text
        var error = bson_error_t()
        let made = text.utf8CString.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: UInt8.self, capacity: buffer.count) {
                bson_new_from_json($0, buffer.count - 1, &error)
            }
        }
        guard let made else {
            throw TaskStoreError(.failed, "could not build a store document: \(String(cString: tesp_bson_error_message(&error)))")
        }
        self.init(owning: made)
    }

    deinit { bson_destroy(pointer) }

    /// The document as relaxed extended JSON.
    func json() throws -> Data {
        try Self.json(of: pointer)
    }

    /// A borrowed `bson_t *` (from a cursor) as relaxed extended JSON.
    static func json(of pointer: OpaquePointer) throws -> Data {
        var length = 0
        guard let chars = bson_as_relaxed_extended_json(pointer, &length) else {
            throw TaskStoreError(.corrupt, "a stored document could not be read")
        }
        defer { bson_free(chars) }
        return Data(bytes: chars, count: length)
    }
}
