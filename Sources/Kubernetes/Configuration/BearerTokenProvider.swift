import Foundation
import Synchronization

/// Where a bearer token comes from. Called before every request; implementations cache.
public protocol BearerTokenProvider: Sendable {
    /// The current token. Throws `KubernetesError` (`.unsupported`) when it cannot be obtained.
    func token() async throws -> String
    /// Drops any cached token (after a 401), so the next call fetches a fresh one.
    func invalidate()
}

/// A fixed token (kubeconfig `token`).
public struct StaticTokenProvider: BearerTokenProvider {
    private let value: String
    public init(_ value: String) { self.value = value }
    public func token() async throws -> String { value }
    public func invalidate() {}
}

/// A token read from a file and re-read whenever the file's modification time (or size) changes: the projected
/// service-account token is rotated by the kubelet in place, and kubeconfig `tokenFile` works the same way.
public final class FileTokenProvider: BearerTokenProvider {
    private struct Cached {
        var token: String
        var modified: Date?
        var size: Int?
    }

    public let path: String
    private let cache = Mutex<Cached?>(nil)

    public init(path: String) { self.path = path }

    public func token() async throws -> String {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        let modified = attributes?[.modificationDate] as? Date
        let size = (attributes?[.size] as? NSNumber)?.intValue
        if let cached = cache.withLock({ $0 }), cached.modified == modified, cached.size == size, modified != nil {
            return cached.token
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KubernetesError.configuration(
                "cannot read the bearer token file \(path): check that it is mounted and readable"
            )
        }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else {
            throw KubernetesError.configuration("the bearer token file \(path) is empty")
        }
        cache.withLock { $0 = Cached(token: token, modified: modified, size: size) }
        return token
    }

    public func invalidate() { cache.withLock { $0 = nil } }
}
