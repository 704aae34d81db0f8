/// Why a line of a Prometheus text exposition could not be read.
///
/// `line` and `column` are 1-based; the column counts bytes from the start of the line. The description reads
/// `line:col: message`, ready to be prefixed with the URL or file the bytes came from.
public struct ExpositionError: Error, Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var message: String

    public init(line: Int, column: Int, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String { "\(line):\(column): \(message)" }
}
