#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns short byte runs (metric names, label names, label values) into `String`s, reusing the `String` of a run seen
/// before. Expositions repeat the same few names and values on thousands of lines; this keeps the parser from
/// allocating one `String` per token.
struct StringInterner {
    private struct Entry {
        var bytes: [UInt8]
        var string: String
    }

    private static let slotCount = 4096
    private static let longest = 96
    private var slots: [Entry?] = Array(repeating: nil, count: StringInterner.slotCount)

    /// The string for `n` bytes at `p`, or `nil` when they are not valid UTF-8.
    mutating func string(_ p: UnsafePointer<UInt8>, _ n: Int) -> String? {
        if n == 0 { return "" }
        if n > Self.longest { return Self.makeString(p, n) }
        var hash: UInt32 = 2_166_136_261
        for k in 0..<n { hash = (hash ^ UInt32(p[k])) &* 16_777_619 }
        let slot = Int(hash & UInt32(Self.slotCount - 1))
        if let entry = slots[slot], entry.bytes.count == n,
           entry.bytes.withUnsafeBufferPointer({ memcmp($0.baseAddress!, p, n) == 0 }) {
            return entry.string
        }
        guard let made = Self.makeString(p, n) else { return nil }
        slots[slot] = Entry(bytes: Array(UnsafeBufferPointer(start: p, count: n)), string: made)
        return made
    }

    /// A new string from the bytes, validating UTF-8 only when a byte is outside ASCII.
    static func makeString(_ p: UnsafePointer<UInt8>, _ n: Int) -> String? {
        let buffer = UnsafeBufferPointer(start: p, count: n)
        var ascii = true
        for byte in buffer where byte >= 0x80 {
            ascii = false
            break
        }
        if ascii { return String(decoding: buffer, as: UTF8.self) }
        return String(validating: buffer, as: UTF8.self)
    }
}
