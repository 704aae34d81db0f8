import ArgumentParser
import Foundation

/// The file a `--plot` option names, checked before any work starts: the chart is SVG or HTML, chosen by the
/// extension, and the folder must exist and be writable (a usage error, exit 2, rather than a failure at the end).
enum ChartFile {
    enum Kind { case svg, html }

    static func kind(of path: String) throws -> Kind {
        switch (path as NSString).pathExtension.lowercased() {
        case "svg": return .svg
        case "html", "htm": return .html
        default:
            throw ValidationError("--plot \(path): the chart is written as SVG or HTML; name the file .svg or .html")
        }
    }

    /// Throws a `ValidationError` naming what to fix.
    static func validate(_ path: String) throws {
        _ = try kind(of: path)
        let folder = (path as NSString).deletingLastPathComponent
        let directory = folder.isEmpty ? "." : folder
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("--plot \(path): the folder \(directory) does not exist")
        }
        guard FileManager.default.isWritableFile(atPath: directory) else {
            throw ValidationError("--plot \(path): the folder \(directory) is not writable")
        }
    }
}
