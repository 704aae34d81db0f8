import Foundation
import Observe

extension HTTPClientSettings {
    /// The authorization these settings name, with its secret read now from the file or environment variable.
    /// - Throws: `ConfigurationError` naming the secret that cannot be read.
    public func authorization(environment: [String: String]) throws -> HTTPAuthorization {
        switch auth {
        case nil: return .none
        case .bearer(let token)?: return .bearer(token: try token.resolve(environment: environment))
        case .basic(let username, let password)?:
            return .basic(username: username, password: try password.resolve(environment: environment))
        }
    }

    /// The TLS settings of a source, with the CA file read now; `nil` when the system defaults apply.
    /// - Throws: `ConfigurationError` naming the CA file that cannot be read.
    public func sourceTLS() throws -> SourceTLS? {
        guard caFile != nil || insecureSkipVerify else { return nil }
        var caPEM: String?
        if let file = caFile {
            do {
                caPEM = try String(contentsOfFile: file, encoding: .utf8)
            } catch {
                throw ConfigurationError("cannot read the CA file \(file): \(error.localizedDescription)")
            }
        }
        return SourceTLS(caPEM: caPEM, insecureSkipVerify: insecureSkipVerify)
    }
}
