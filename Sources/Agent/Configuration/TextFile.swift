import Foundation

/// Reads a user's text file (policy, test, configuration), or says why it cannot be read: missing, a directory, a
/// dangling symbolic link, not a regular file, too large, not readable, or not UTF-8 text.
public enum TextFile {
    /// Why a file could not be read, worded to follow its path (`rules/x.yaml: is a directory; …`).
    public struct Unreadable: Error, Sendable, Hashable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    /// Files larger than this are not read: policies and configurations are kilobytes.
    public static let maximumSize = 16 << 20

    /// The file's text, or why there is none.
    public static func read(_ path: String, maximumSize: Int = TextFile.maximumSize) -> Result<String, Unreadable> {
        read(bytesOf: path, maximumSize: maximumSize).flatMap { data in
            guard let text = String(data: data, encoding: .utf8) else {
                return .failure(Unreadable(reason: "is not UTF-8 text"))
            }
            return .success(text)
        }
    }

    /// The bytes of a text file (a saved JSON answer, say) with the same checks, short of decoding: a binary file, a
    /// directory or one over `maximumSize` is refused with the reason.
    public static func read(bytesOf path: String, maximumSize: Int = TextFile.maximumSize) -> Result<Data, Unreadable> {
        let manager = FileManager.default
        func fail(_ reason: String) -> Result<Data, Unreadable> { .failure(Unreadable(reason: reason)) }
        guard let attributes = try? manager.attributesOfItem(atPath: path) else {
            return fail("does not exist (or a directory on its path cannot be read)")
        }
        if attributes[.type] as? FileAttributeType == .typeSymbolicLink, !manager.fileExists(atPath: path) {
            let target = (try? manager.destinationOfSymbolicLink(atPath: path)) ?? "?"
            return fail("is a symbolic link to \(target), which does not exist")
        }
        var isDirectory: ObjCBool = false
        _ = manager.fileExists(atPath: path, isDirectory: &isDirectory)
        if isDirectory.boolValue { return fail("is a directory; name the YAML files in it") }
        let resolved = (try? manager.attributesOfItem(atPath: (path as NSString).resolvingSymlinksInPath)) ?? attributes
        if let type = resolved[.type] as? FileAttributeType, type != .typeRegular, type != .typeSymbolicLink {
            return fail("is not a regular file")
        }
        if let size = (resolved[.size] as? NSNumber)?.intValue, size > maximumSize {
            return fail("is \(size) bytes; files over \(maximumSize) bytes are not read")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            return fail("cannot be opened (permission denied?)")
        }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: maximumSize + 1) ?? Data()
        } catch {
            return fail("cannot be read (\(error.localizedDescription))")
        }
        if data.count > maximumSize {
            return fail("is larger than \(maximumSize) bytes; files that large are not read")
        }
        if let zero = data.firstIndex(of: 0) {
            return fail("is binary, not text (a zero byte at offset \(zero - data.startIndex))")
        }
        return .success(data)
    }
}
