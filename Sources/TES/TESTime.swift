import Foundation

/// RFC 3339 times as TES writes them: UTC, with milliseconds (`2026-11-22T00:11:17.123Z`).
public enum TESTime {
    private static let withFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)
    private static let withoutFraction = Date.ISO8601FormatStyle(timeZone: .gmt)

    /// Formats `date` in UTC with millisecond precision.
    public static func format(_ date: Date) -> String {
        withFraction.format(date)
    }

    /// Parses an RFC 3339 time, with or without fractional seconds; `nil` if it is not one.
    public static func parse(_ string: String) -> Date? {
        (try? withFraction.parse(string)) ?? (try? withoutFraction.parse(string))
    }

    /// `date` cut to whole milliseconds, the precision every store keeps.
    public static func truncatedToMilliseconds(_ date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1000).rounded(.down) / 1000)
    }
}
