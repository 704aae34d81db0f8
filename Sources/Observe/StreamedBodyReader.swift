import NIOCore

/// Reads a 2xx answer's body part by part on the connection's event loop, as the parts arrive.
protocol StreamedBodyReader: SendableMetatype {
    associatedtype Result: Sendable
    /// The head of a 2xx answer, before any of its body; may refuse it (a Content-Type that is not what it reads).
    mutating func head(_ head: HTTPFetch.Head) throws(SourceFetchError)
    mutating func read(_ part: ByteBuffer) throws(SourceFetchError)
    /// The whole body was read.
    mutating func finish() throws(SourceFetchError) -> Result
}
