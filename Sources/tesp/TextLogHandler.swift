import Logging
import Server

/// swift-log's text lines on standard error, with every message and metadata value passed through
/// ``LogText/sanitized(_:maxBytes:)``: a value a client sent (a token's header, a task name) cannot break a line
/// in two or fill the log.
struct TextLogHandler: LogHandler {
    private var inner: StreamLogHandler

    init(label: String, level: Logger.Level) {
        inner = StreamLogHandler.standardError(label: label)
        inner.logLevel = level
    }

    var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { inner.metadataProvider }
        set { inner.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue.map(Self.sanitized) }
    }

    func log(event: LogEvent) {
        var event = event
        event.message = "\(LogText.sanitized(event.message.description))"
        event.metadata = event.metadata?.mapValues(Self.sanitized)
        inner.log(event: event)
    }

    static func sanitized(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let text): .string(LogText.sanitized(text))
        case .stringConvertible(let convertible): .string(LogText.sanitized(convertible.description))
        case .array(let values): .array(values.map(sanitized))
        case .dictionary(let values): .dictionary(values.mapValues(sanitized))
        }
    }
}
