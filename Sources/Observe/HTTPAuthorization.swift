import Foundation

/// How a source authenticates. Secrets are passed in as values (read from files or the environment by the caller)
/// and never appear in errors or logs.
public enum HTTPAuthorization: Sendable, Hashable {
    case none
    /// HTTP Basic: for EMQX an API key and its secret.
    case basic(username: String, password: String)
    /// `Authorization: Bearer <token>`.
    case bearer(token: String)

    /// The `Authorization` header value, `nil` for `.none`.
    public var headerValue: String? {
        switch self {
        case .none:
            return nil
        case .basic(let username, let password):
            return "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
        case .bearer(let token):
            return "Bearer \(token)"
        }
    }
}
