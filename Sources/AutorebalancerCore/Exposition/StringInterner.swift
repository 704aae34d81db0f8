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
///
/// The table starts empty and grows with use (64 slots, then four times as many, up to 16,384): one EMQX node's stats
/// body, of which the scrape builds three families, needs a handful of strings, and a parser per scrape must not pay
/// for the table a 100,000-line body wants (a fixed 16,384-slot table was ~450 KB made and freed per scrape: at 4,000
/// scrapes a cycle, a large part of the scrape source's time).
struct StringInterner {
    private static let firstSlotCount = 64
    private static let slotLimit = 16384
    private static let longest = 96
    /// Past this many stored bytes the table starts over, so a body of endless distinct values cannot grow it forever.
    private static let arenaLimit = 4 << 20

    /// Interned bytes, back to back; each slot points at its run.
    private var arena: [UInt8] = []
    private var offsets: [Int32] = []
    /// -1 marks an empty slot.
    private var lengths: [Int32] = []
    private var strings: [String] = []
    /// Strings stored since the table was last made; past half its slots it grows (while it may).
    private var stored = 0

    init() {}

    /// The string for `n` bytes at `p`, or `nil` when they are not valid UTF-8.
    mutating func string(_ p: UnsafePointer<UInt8>, _ n: Int) -> String? {
        if n == 0 { return "" }
        // Up to 15 UTF-8 bytes fit inside a `String` value itself: making one costs less than looking it up.
        if n <= 15 || n > Self.longest { return Self.makeString(p, n) }
        if stored * 2 >= lengths.count, lengths.count < Self.slotLimit { grow() }
        let slot = Int(Self.hash(p, n) & UInt64(lengths.count - 1))
        if lengths[slot] == Int32(n) {
            let offset = Int(offsets[slot])
            let same = arena.withUnsafeBufferPointer { memcmp($0.baseAddress! + offset, p, n) == 0 }
            if same { return strings[slot] }
        }
        guard let made = Self.makeString(p, n) else { return nil }
        if arena.count + n > Self.arenaLimit {
            arena.removeAll(keepingCapacity: true)
            for k in lengths.indices { lengths[k] = -1 }
        }
        offsets[slot] = Int32(arena.count)
        lengths[slot] = Int32(n)
        arena.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
        strings[slot] = made
        stored += 1
        return made
    }

    /// A table four times the size (the first of 64 slots), empty: it is a cache, so what it held is simply made again.
    private mutating func grow() {
        let count = lengths.isEmpty ? Self.firstSlotCount : min(lengths.count * 4, Self.slotLimit)
        offsets = [Int32](repeating: 0, count: count)
        lengths = [Int32](repeating: -1, count: count)
        strings = [String](repeating: "", count: count)
        arena.removeAll(keepingCapacity: true)
        stored = 0
    }

    /// A word-at-a-time multiplicative hash; only its low bits pick the slot.
    @inline(__always) private static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        let raw = UnsafeRawPointer(p)
        var h = UInt64(truncatingIfNeeded: n) &* 0x9E37_79B9_7F4A_7C15
        var k = 0
        while k + 8 <= n {
            h = (h ^ raw.loadUnaligned(fromByteOffset: k, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 29
            k += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while k < n {
            tail |= UInt64(p[k]) << shift
            shift += 8
            k += 1
        }
        h = (h ^ tail) &* 0x94D0_49BB_1331_11EB
        return h ^ (h >> 32)
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
