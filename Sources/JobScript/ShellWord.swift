/// One word of a generated shell command: literal text glued to shell variables, quoted so that the text can never
/// be read as shell syntax and the variables expand without word splitting.
public struct ShellWord: Sendable, Equatable, ExpressibleByStringLiteral, CustomStringConvertible {
    public enum Part: Sendable, Equatable {
        /// Literal text, single-quoted.
        case text(String)
        /// `"${name}"`.
        case variable(String)
        /// `"${name[@]}"`: every element of a bash array, each as its own word.
        case array(String)
    }

    public var parts: [Part]

    public init(_ parts: [Part]) { self.parts = parts }
    public init(_ text: String) { self.parts = [.text(text)] }
    public init(stringLiteral value: String) { self.init(value) }

    /// A path on the Pulsar host: the task root variable followed by a container path.
    public static func hostPath(_ containerPath: String, root: String = JobScript.rootVariable) -> ShellWord {
        ShellWord([.variable(root), .text(containerPath)])
    }

    /// The word as bash source.
    public var rendered: String {
        parts.map { part in
            switch part {
            case .text(let text): ShellQuote.quote(text)
            case .variable(let name): "\"${\(name)}\""
            case .array(let name): "\"${\(name)[@]}\""
            }
        }.joined()
    }

    public var description: String { rendered }

    /// Appends literal text.
    public static func + (lhs: ShellWord, rhs: String) -> ShellWord {
        if case .text(let text)? = lhs.parts.last {
            return ShellWord(lhs.parts.dropLast() + [.text(text + rhs)])
        }
        return ShellWord(lhs.parts + [.text(rhs)])
    }

    /// Glues two words into one.
    public static func + (lhs: ShellWord, rhs: ShellWord) -> ShellWord {
        ShellWord(lhs.parts + rhs.parts)
    }
}
