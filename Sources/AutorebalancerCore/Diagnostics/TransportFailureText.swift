/// An HTTP client's transport error in words (`connection refused`, `the host name does not resolve`) instead of the
/// library's dump (`NIOConnectionError(host: …, connectionErrors: [SingleConnectionFailure(…)])`,
/// `HTTPClientError.connectTimeout`). Works on the error's description, so the pure core needs no network library.
public enum TransportFailureText {
    /// Why no connection could be made (nothing was sent), or `nil` when that is not what the error says.
    public static func connectionFailure(_ error: any Error) -> String? {
        let text = String(describing: error)
        if text.hasSuffix("connectTimeout") { return "no connection within the connect timeout" }
        if text.localizedCaseInsensitiveContains("connection refused") || text.contains("errno: 111") { return "connection refused" }
        if text.contains("dnsAError") || text.contains("dnsAAAAError") || text.localizedCaseInsensitiveContains("name or service not known")
            || text.localizedCaseInsensitiveContains("nodename nor servname")
        {
            return "the host name does not resolve"
        }
        if text.localizedCaseInsensitiveContains("network is unreachable") || text.localizedCaseInsensitiveContains("no route to host") {
            return "no route to the host"
        }
        return nil
    }

    /// The error in words: a connection failure, a timeout or a closed connection; otherwise its own description.
    public static func describe(_ error: any Error) -> String {
        if let failure = connectionFailure(error) { return failure }
        let text = String(describing: error)
        if text.hasSuffix("readTimeout") || text.hasSuffix("deadlineExceeded") { return "no answer within the timeout" }
        if text.hasSuffix("remoteConnectionClosed") { return "the connection was closed before an answer" }
        return text
    }
}
