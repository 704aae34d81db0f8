/// Hashes that stay the same in every process, run, platform and version (Swift's `Hasher` is seeded per process):
/// the short hash object names carry (Rebalances, Events, label values cut to length) and shard placement.
public enum StableHash {
    /// 64-bit FNV-1a of the UTF-8 bytes of `text`.
    public static func fnv1a64(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// The high 8 hex digits of `fnv1a64(text)`.
    public static func shortHex(_ text: String) -> String {
        let hex = String(fnv1a64(text) >> 32, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }
}
