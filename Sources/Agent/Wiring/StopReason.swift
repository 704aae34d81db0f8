import AutorebalancerCore
import Foundation

/// Why the agent (or the demo) stopped, in words for the user: what failed and what to fix, instead of a library's
/// dump (`IOError(...)`, `ServiceGroupError`, `Debug description`). The raw error belongs in a debug log line.
public enum StopReason {
    /// `listen` is the address the agent's admin server was given (for a failed bind).
    public static func describe(_ error: any Error, listen: String? = nil) -> String {
        if error is CancellationError { return "it was interrupted" }
        if let cocoa = error as? CocoaError {
            // Foundation's sentence, with the file it is about (Linux's sentence names none).
            let reason = cocoa.localizedDescription.replacingOccurrences(
                of: "The operation could not be completed. ",
                with: ""
            )
            return (cocoa.filePath ?? cocoa.url?.path).map { "\($0): \(reason)" } ?? reason
        }
        let text = String(describing: error)
        if let errno = systemErrorNumber(in: text) {
            let reason = String(cString: strerror(errno)).lowercased()
            switch errno {
            case EADDRINUSE:
                return
                    "cannot listen on \(listen ?? "its address"): \(reason): another process (another agent?) listens there; "
                    + "change `listen` in the configuration or stop that process"
            case EACCES where text.contains("bind"):
                return
                    "cannot listen on \(listen ?? "its address"): \(reason): ports below 1024 need privileges; choose a higher port"
            case EADDRNOTAVAIL:
                return
                    "cannot listen on \(listen ?? "its address"): \(reason): this host has no such address; use 0.0.0.0 or one of its own"
            default:
                return "the operating system refused an operation: \(reason) (errno \(errno))"
            }
        }
        if let transport = TransportFailureText.connectionFailure(error) { return transport }
        return looksLikeADump(text) ? "an unexpected internal error (the debug log has its details)" : text
    }

    /// The `errno: N` a system call error (NIO's `IOError`) carries in its text.
    static func systemErrorNumber(in text: String) -> Int32? {
        guard let range = text.range(of: #"errno: ?(\d{1,4})"#, options: .regularExpression) else { return nil }
        return Int32(text[range].drop { !$0.isNumber })
    }

    /// A type's reflection (`SomeError(code: …)`, `Module.Type.case`, `Debug description`) rather than a sentence.
    static func looksLikeADump(_ text: String) -> Bool {
        text.contains("Debug description")
            || text.range(of: #"^[A-Z][A-Za-z0-9]*(\.[A-Za-z0-9]+)*(\(|$)"#, options: .regularExpression) != nil
            || text.range(of: #"\b[A-Z][A-Za-z0-9]+\.[A-Za-z0-9]+\.[a-z][A-Za-z0-9]*\b"#, options: .regularExpression)
                != nil
    }
}
