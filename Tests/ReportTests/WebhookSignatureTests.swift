import Report
import Testing

/// The signature header is HMAC-SHA256 of the body in lower-case hex (swift-crypto's): RFC 4231 test cases 1 and 2, a
/// key longer than the hash's block (hashed first), and an empty body.
struct WebhookSignatureTests {
    @Test(arguments: [
        (
            String(repeating: "\u{0b}", count: 20), "Hi There",
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        ),
        ("Jefe", "what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        (
            String(repeating: "k", count: 100), #"{"type":"decision"}"#,
            "a5446023d5edbda123bbf533c265612199b7e45f7fab8408dc9b3c9b9a0b40b7"
        ),
        ("key", "", "5d5d139563c95b5967b9bd9a8c9b233a9dedb45072794cd232dc1b74832607d0"),
    ])
    func knownSignatures(secret: String, body: String, hex: String) {
        #expect(WebhookNotifier.signature(secret: secret, body: Array(body.utf8)) == "sha256=" + hex)
    }
}
