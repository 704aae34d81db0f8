import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A fault the API server can be told to produce.
public enum APIFault: Sendable, Hashable {
    /// 429 `TooManyRequests` with `Retry-After` (and `details.retryAfterSeconds`).
    case tooManyRequests(retryAfterSeconds: Int)
    /// 500 `InternalError`.
    case internalError
    /// The connection is closed without an answer.
    case dropConnection
    /// For creates only: the object is stored, then the answer is 500 `InternalError` (a client that retries
    /// then meets 409 `AlreadyExists`).
    case storeThenInternalError
    /// No answer until `releaseHeldRequests()` (or shutdown): a server that keeps the connection busy.
    case hold
    /// A `Status` answer with this code and reason (503 `ServiceUnavailable`, 400 `BadRequest`, …), with
    /// `Retry-After` when given; the request is not applied.
    case status(Int, reason: String, retryAfterSeconds: Int? = nil)
    /// An answer that is not Kubernetes JSON, as a web server or proxy in front of the API server would give.
    case raw(Int, contentType: String, body: String)
    /// For writes: the request is applied, then the connection is closed unanswered (the client cannot know it
    /// went through).
    case storeThenDropConnection
    /// For writes: the request is applied, then held unanswered like `hold` (the client's timeout loses the answer).
    case storeThenHold

    /// Whether the request is handled (and stored) before the fault ends it.
    var storesFirst: Bool {
        switch self {
        case .storeThenInternalError, .storeThenDropConnection, .storeThenHold: true
        default: false
        }
    }

    /// Whether the fault can apply to a request with this verb: what stores first needs a write to store.
    func applies(to verb: String?) -> Bool {
        switch self {
        case .storeThenInternalError: verb == "create"
        case .storeThenDropConnection, .storeThenHold: ["create", "update", "patch", "delete"].contains(verb ?? "")
        default: true
        }
    }
}

extension SimulatedKubernetesAPI {
    /// The answer a fault gives (after the request was handled, for the faults that store first).
    func answer(_ fault: APIFault, context: SimulatedAPIRequestContext) async -> Response {
        switch fault {
        case .dropConnection, .storeThenDropConnection:
            context.channel.close(promise: nil)
            return Response(status: .internalServerError)
        case .tooManyRequests(let seconds):
            return answer(KubernetesAPIError.tooManyRequests(retryAfter: seconds))
        case .internalError:
            return answer(
                KubernetesAPIError.internalError(
                    "the server is currently unable to handle the request (simulated fault)"
                )
            )
        case .storeThenInternalError:
            return answer(KubernetesAPIError.internalError("etcdserver: request timed out"))
        case .hold, .storeThenHold:
            await held.hold()
            return answer(KubernetesAPIError.internalError("the request was held and then let go (simulated fault)"))
        case .status(let code, let reason, let retryAfterSeconds):
            let message = "the server cannot handle the request (simulated \(code) \(reason))"
            return answer(
                KubernetesAPIError(code: code, reason: reason, message: message, retryAfterSeconds: retryAfterSeconds)
            )
        case .raw(let code, let contentType, let body):
            var headers = HTTPFields()
            headers[.contentType] = contentType
            return Response(
                status: HTTPResponse.Status(code: code),
                headers: headers,
                body: ResponseBody(byteBuffer: ByteBuffer(string: body))
            )
        }
    }
}

// MARK: Free-form resources

extension ResourceType {
    /// Operator 3.0's `EMQXAPIKey` (served only when a scenario asks for it, see `serveFreeForm`).
    public static let emqxAPIKeys = ResourceType(
        group: "apps.emqx.io",
        version: "v3beta1",
        plural: "emqxapikeys",
        singular: "emqxapikey",
        kind: "EMQXAPIKey",
        verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    )
    /// `Rebalance` as EMQX Operator 2.1 serves it (only at `v1beta4`; see `serveFreeForm`).
    public static let rebalancesV1beta4 = ResourceType(
        group: "apps.emqx.io",
        version: "v1beta4",
        plural: "rebalances",
        singular: "rebalance",
        kind: "Rebalance",
        verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    )
    /// The core `Secret` (served only when a scenario asks for it, see `serveFreeForm`).
    public static let secrets = ResourceType(
        group: "",
        version: "v1",
        plural: "secrets",
        singular: "secret",
        kind: "Secret",
        verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    )
}

extension SimulatedKubernetesAPI {
    /// Serves `type` besides what the operator generation serves, with no schema: its objects (set up with
    /// `putObject`) are answered as stored. For objects the simulation does not model, such as API keys and Secrets.
    public func serveFreeForm(_ type: ResourceType) {
        controls.withLock { controls in
            if !controls.freeForm.contains(type) { controls.freeForm.append(type) }
        }
    }
}
