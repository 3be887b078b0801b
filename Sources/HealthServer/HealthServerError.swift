/// Why the health server could not start: one line for the operator (the caller maps it to
/// the configuration exit, 78), naming the flag.
public struct HealthServerError: Error, Equatable, CustomStringConvertible, Sendable {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
