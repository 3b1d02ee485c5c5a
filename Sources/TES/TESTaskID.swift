/// Task ids: 26 lowercase Crockford base-32 characters, a 48-bit millisecond timestamp then 80 random bits.
///
/// They are opaque and URL-safe, unique across servers (the random part), and sort in creation order (the
/// timestamp comes first and the alphabet is in ASCII order), so the list's keyset paging can use the id alone.
public enum TESTaskID {
    static let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz".utf8)
    public static let length = 26

    /// The id for a task created at `milliseconds` since 1970 with the given 80 random bits.
    public static func make(milliseconds: UInt64, random: (high: UInt16, low: UInt64)) -> String {
        var chars = [UInt8](repeating: 0, count: length)
        // 10 characters hold 50 bits: the 48-bit time, left-padded.
        var time = milliseconds & 0xFFFF_FFFF_FFFF
        for index in stride(from: 9, through: 0, by: -1) {
            chars[index] = alphabet[Int(time & 31)]
            time >>= 5
        }
        // 16 characters hold the 80 random bits.
        var low = random.low
        var high = UInt64(random.high)
        for index in stride(from: 25, through: 10, by: -1) {
            chars[index] = alphabet[Int(low & 31)]
            low = (low >> 5) | ((high & 31) << 59)
            high >>= 5
        }
        return String(decoding: chars, as: UTF8.self)
    }

    /// The millisecond timestamp an id was made with, `nil` for a string that is not an id.
    public static func milliseconds(of id: String) -> UInt64? {
        guard isWellFormed(id) else { return nil }
        var time: UInt64 = 0
        for char in id.utf8.prefix(10) {
            time = (time << 5) | UInt64(alphabet.firstIndex(of: char)!)
        }
        return time & 0xFFFF_FFFF_FFFF
    }

    /// The smallest id made at `milliseconds`: every task created then or later has an id at least this one.
    public static func earliest(atMilliseconds milliseconds: UInt64) -> String {
        make(milliseconds: milliseconds, random: (0, 0))
    }

    /// Whether `string` has the shape of a task id (used to reject garbage page tokens early).
    public static func isWellFormed(_ string: String) -> Bool {
        string.utf8.count == length && string.utf8.allSatisfy { alphabet.contains($0) }
    }
}

/// Makes task ids that strictly increase within one process, even for several tasks in one millisecond.
public struct TESTaskIDGenerator: Sendable {
    private var lastMilliseconds: UInt64 = 0
    private var lastRandom: (high: UInt16, low: UInt64) = (0, 0)

    public init() {}

    /// The next id for a task created at `milliseconds`; `random` supplies fresh random bits.
    public mutating func next(
        milliseconds: UInt64,
        random: () -> (high: UInt16, low: UInt64)
    ) -> String {
        if milliseconds <= lastMilliseconds {
            // Same (or an earlier, after a clock step) millisecond: keep the last time and count up.
            let (low, overflow) = lastRandom.low.addingReportingOverflow(1)
            lastRandom = (overflow ? lastRandom.high &+ 1 : lastRandom.high, low)
        } else {
            lastMilliseconds = milliseconds
            lastRandom = random()
        }
        return TESTaskID.make(milliseconds: lastMilliseconds, random: lastRandom)
    }
}
