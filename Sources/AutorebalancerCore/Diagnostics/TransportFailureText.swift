/// An HTTP client's transport error in words (`connection refused: nothing listens at that address and port`) instead
/// of the library's dump (`NIOConnectionError(host: …, connectionErrors: [SingleConnectionFailure(…)])`, errno
/// numbers, `HTTPClientError.connectTimeout`). Works on the error's description, so the pure core needs no network
/// library.
public enum TransportFailureText {
    /// Symptoms of a connection that could not be made (nothing was sent), in words.
    static let connectionReasons: [(symptom: String, reason: String)] = [
        ("Connection refused", "connection refused: nothing listens at that address and port"),
        ("errno: 111", "connection refused: nothing listens at that address and port"),
        ("No route to host", "no route to the host"),
        ("Network is unreachable", "the network is unreachable"),
        ("Name or service not known", "the host name does not resolve (DNS)"),
        ("nodename nor servname", "the host name does not resolve (DNS)"),
        ("Temporary failure in name resolution", "the host name does not resolve right now (DNS)"),
        ("connectTimeout", "no connection within the connect timeout"),
    ]

    /// Symptoms of a connection lost after it was made.
    static let exchangeReasons: [(symptom: String, reason: String)] = [
        ("Connection reset by peer", "the server reset the connection"),
        ("remoteConnectionClosed", "the server closed the connection before the answer was complete"),
        ("readTimeout", "no answer within the timeout"),
        ("deadlineExceeded", "no answer within the timeout"),
    ]

    /// Why no connection could be made, or `nil` when that is not what the error says.
    public static func connectionFailure(_ error: any Error) -> String? {
        let text = String(describing: error)
        return connectionReasons.first { text.localizedCaseInsensitiveContains($0.symptom) }?.reason
    }

    /// The error in words: a connection failure, a lost connection or a timeout; otherwise its own description.
    public static func describe(_ error: any Error) -> String {
        if let failure = connectionFailure(error) { return failure }
        let text = String(describing: error)
        return exchangeReasons.first { text.localizedCaseInsensitiveContains($0.symptom) }?.reason ?? text
    }
}
