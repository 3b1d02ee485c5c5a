/// Everything wrong with a submitted task, each problem with the field it is about.
public struct TESValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// One problem: a field path such as `executors[0].image` and what is wrong with it.
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public let field: String
        public let message: String

        public init(field: String, message: String) {
            self.field = field
            self.message = message
        }

        public var description: String { "\(field): \(message)" }
    }

    public let problems: [Problem]

    public init(problems: [Problem]) { self.problems = problems }

    public init(field: String, message: String) { self.problems = [Problem(field: field, message: message)] }

    public var description: String { problems.map(\.description).joined(separator: "; ") }
}
