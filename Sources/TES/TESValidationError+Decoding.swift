extension TESValidationError {
    /// A problem report for a request body that did not decode, naming the field (`executors[0].command`).
    public init(decoding error: DecodingError) {
        func path(_ keys: [any CodingKey]) -> String {
            var out = ""
            for key in keys {
                if let index = key.intValue {
                    out += "[\(index)]"
                } else {
                    out += out.isEmpty ? key.stringValue : ".\(key.stringValue)"
                }
            }
            return out.isEmpty ? "request body" : out
        }
        func kind(_ type: Any.Type) -> String {
            switch type {
            case is String.Type: "a string"
            case is Bool.Type: "true or false"
            case is Int.Type: "an integer"
            case is Double.Type: "a number"
            case is [Any].Type: "an array"
            default:
                "\(type)".hasPrefix("Array") ? "an array" : "\(type)".hasPrefix("Dictionary") ? "an object" : "an object"
            }
        }
        switch error {
        case .typeMismatch(let type, let context):
            self.init(field: path(context.codingPath), message: "expected \(kind(type))")
        case .valueNotFound(let type, let context):
            self.init(field: path(context.codingPath), message: "expected \(kind(type)), got null")
        case .keyNotFound(let key, let context):
            self.init(field: path(context.codingPath + [key]), message: "required, but missing")
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                self.init(field: "request body", message: "is not valid JSON")
            } else {
                self.init(field: path(context.codingPath), message: "has an invalid value")
            }
        @unknown default:
            self.init(field: "request body", message: "could not be read")
        }
    }
}
