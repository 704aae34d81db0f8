import AutorebalancerCore
import Testing

struct StableHashTests {
    /// The published FNV-1a 64 values: the offset basis for "", 0xaf63dc4c8601ec8c for "a", 0x85944171f73967e8 for
    /// "foobar".
    @Test(arguments: [
        ("", 0xcbf2_9ce4_8422_2325 as UInt64), ("a", 0xaf63_dc4c_8601_ec8c), ("foobar", 0x8594_4171_f739_67e8),
    ])
    func knownValues(text: String, hash: UInt64) {
        #expect(StableHash.fnv1a64(text) == hash)
    }

    /// The short form is the high 8 hex digits, zero-padded.
    @Test(arguments: [("", "cbf29ce4"), ("a", "af63dc4c"), ("foobar", "85944171")])
    func shortHexIsTheHighHalf(text: String, hex: String) {
        #expect(StableHash.shortHex(text) == hex)
    }
}
