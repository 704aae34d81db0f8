import Foundation

extension LoadRebalance {
    /// Why a load_rebalance call did not succeed, classified from EMQX 5's answers
    /// (`?BAD_REQUEST`, `?NOT_FOUND`, `?RPC_ERROR`, `BAD_API_KEY_OR_SECRET`) so the caller never retries blindly:
    /// `already_started` and `nothing_to_balance` are answers, not faults.
    public enum Failure: Error, Sendable, Hashable, CustomStringConvertible {
        /// 400 `… already_started`: a rebalance already runs on that coordinator (someone's, maybe ours).
        case alreadyStarted(message: String)
        /// 400 `… nothing_to_balance`: the node set is balanced at these thresholds. Not retried.
        case nothingToBalance(message: String)
        /// 400 `not_started` (stop of a rebalance that is not running).
        case notStarted(message: String)
        /// 400 `NOT_FOUND` "Nodes unavailable" (a node is evacuated, or a donor of another rebalance), or 404 for an
        /// unknown node.
        case nodesUnavailable(message: String)
        /// Any other 400: a field EMQX refused.
        case badRequest(message: String)
        /// 401: the API key or secret is wrong.
        case unauthorized(message: String)
        /// 403: the key lacks the scope (EMQX 6: `cluster_operations`) or role (`Administrator`; `Viewer` is read-only).
        case forbidden(message: String)
        /// 404 on the route itself: this EMQX serves no load_rebalance API (open-source build before 5.9, or EMQX 4.4 on
        /// a v5 path).
        case apiNotFound(message: String)
        /// 5xx (503 `RPC_ERROR` included): EMQX may or may not have acted.
        case server(status: Int, message: String)
        /// An answer the agent does not understand (status and the start of the body).
        case unexpected(status: Int, message: String)
        /// No answer: refused, reset, TLS failure, timeout. The request may or may not have reached EMQX.
        case unreachable(reason: String)
        /// Nothing was sent: the API key or its secret cannot be read (a mounted Secret, an `EMQXAPIKey`'s Secret).
        case noCredentials(reason: String)

        /// The EMQX 6 API-key scope `load_rebalance` and `/api/v5/nodes` need.
        public static let requiredScope = "cluster_operations"

        /// Classifies a non-2xx answer; `nil` for 2xx.
        public static func classify(status: Int, body: Data) -> Failure? {
            guard !(200..<300).contains(status) else { return nil }
            let decoded = try? JSONDecoder().decode(ErrorBody.self, from: body)
            let raw = String(decoding: body.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            let message = Self.sanitized(decoded?.message ?? raw)
            let code = decoded?.code ?? ""
            switch status {
            case 400:
                if message.contains("already_started") { return .alreadyStarted(message: message) }
                if message.contains("nothing_to_balance") { return .nothingToBalance(message: message) }
                if message.contains("not_started") { return .notStarted(message: message) }
                if code == "NOT_FOUND" || message.localizedCaseInsensitiveContains("unavailable") {
                    return .nodesUnavailable(message: message)
                }
                return .badRequest(message: message)
            case 401:
                return .unauthorized(message: message)
            case 403:
                return .forbidden(message: message)
            case 404:
                // EMQX answers an unknown route with "Request Path Not Found"; an unknown node with its own text.
                if message.localizedCaseInsensitiveContains("path not found") || message.isEmpty {
                    return .apiNotFound(message: message)
                }
                return .nodesUnavailable(message: message)
            case 500..<600:
                return .server(status: status, message: message)
            default:
                return .unexpected(status: status, message: message)
            }
        }

        /// Whether EMQX certainly did not start anything: a 4xx answer. After a 5xx or no answer at all, EMQX may have
        /// started the rebalance, so only `global_status` can tell.
        public var provesNothingStarted: Bool {
            switch self {
            case .server, .unexpected, .unreachable: false
            default: true
            }
        }

        /// A fault of the agent's own configuration (credentials): worth one clear error, not a retry.
        public var isCredentialProblem: Bool {
            switch self {
            case .unauthorized, .forbidden, .noCredentials: true
            default: false
            }
        }

        /// A short class name for metrics and why-nots (`already-started`, `forbidden`, …).
        public var reasonClass: String {
            switch self {
            case .alreadyStarted: "already-started"
            case .nothingToBalance: "nothing-to-balance"
            case .notStarted: "not-started"
            case .nodesUnavailable: "nodes-unavailable"
            case .badRequest: "bad-request"
            case .unauthorized: "unauthorized"
            case .forbidden: "forbidden"
            case .apiNotFound: "api-not-found"
            case .server: "server-error"
            case .unexpected: "unexpected-answer"
            case .unreachable: "unreachable"
            case .noCredentials: "no-credentials"
            }
        }

        public var description: String {
            switch self {
            case .alreadyStarted(let message): "EMQX already runs a rebalance on that coordinator (\(message))"
            case .nothingToBalance(let message): "EMQX found nothing to balance (\(message))"
            case .notStarted(let message): "EMQX runs no rebalance on that coordinator (\(message))"
            case .nodesUnavailable(let message): "EMQX refused the node set: \(message)"
            case .badRequest(let message): "EMQX refused the request: \(message)"
            case .unauthorized:
                "EMQX answered 401: the API key or secret is wrong; check the credentials configured for this cluster"
            case .forbidden(let message):
                "EMQX answered 403 (\(message.isEmpty ? "forbidden" : message)): the API key lacks the scope "
                    + "\(Self.requiredScope) (EMQX 6) or the Administrator role (an EMQXAPIKey with role Viewer cannot rebalance)"
            case .apiNotFound:
                "EMQX serves no load_rebalance API (404): rebalancing needs EMQX Enterprise 5.x, or any EMQX 5.9 or later"
            case .server(let status, let message):
                "EMQX answered HTTP \(status)\(message.isEmpty ? "" : ": \(message)")"
            case .unexpected(let status, let message):
                "EMQX answered HTTP \(status), which the agent does not expect\(message.isEmpty ? "" : ": \(message)")"
            case .unreachable(let reason): "EMQX did not answer: \(reason)"
            case .noCredentials(let reason): "the EMQX API credentials cannot be read, so EMQX was not asked: \(reason)"
            }
        }

        struct ErrorBody: Decodable {
            var code: String?
            var message: String?
        }

        /// One line of at most 300 characters, without control characters: EMQX's message goes into logs and Events.
        static func sanitized(_ text: String) -> String {
            String(
                text.unicodeScalars.map { CharacterSet.controlCharacters.contains($0) ? " " : Character($0) }.prefix(
                    300
                )
            )
        }
    }
}
