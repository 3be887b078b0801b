/// A problem a person must fix before a run can start. `usage` is a bad flag (exit 64),
/// `configuration` bad or missing settings from the environment or files (exit 78).
public enum ConfigError: Error, CustomStringConvertible, Equatable {
    case usage(String)
    case configuration(String)

    public var description: String {
        switch self {
        case .usage(let text), .configuration(let text): text
        }
    }
}
