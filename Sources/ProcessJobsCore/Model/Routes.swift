/// Which job types go where. Types with no route are never claimed.
public struct Routes: Sendable, Equatable {
    /// The Edge Function's table.
    public static let defaults: [String: String] = [
        "generate-image": "/api/process-image",
        "generate-complete-pack": "/api/process-complete-pack",
        "generate-aplus": "/api/process-aplus",
    ]

    /// Job type to path (or absolute URL), sorted by type for stable output.
    public private(set) var table: [(type: String, target: String)]

    public static func == (lhs: Routes, rhs: Routes) -> Bool {
        lhs.table.elementsEqual(rhs.table) { $0.type == $1.type && $0.target == $1.target }
    }

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// The defaults with `overrides` ("TYPE=PATH") applied; "TYPE=" removes a route.
    public init(overrides: [String] = []) throws(Invalid) {
        var map = Routes.defaults
        for text in overrides {
            guard let equals = text.firstIndex(of: "=") else {
                throw Invalid(description: "--route '\(text)' must look like TYPE=PATH (e.g. generate-image=/api/process-image)")
            }
            let type = String(text[..<equals])
            let target = String(text[text.index(after: equals)...])
            try Routes.checkType(type)
            if target.isEmpty {
                map[type] = nil
                continue
            }
            guard target.hasPrefix("/") || target.hasPrefix("https://") || target.hasPrefix("http://"),
                  !target.contains(where: { $0.isWhitespace || $0.isNewline }) else {
                throw Invalid(description: "--route \(type): '\(RedactedURL.text(target))' must be a path starting with / or an http(s) URL")
            }
            map[type] = target
        }
        table = map.sorted { $0.key < $1.key }.map { (type: $0.key, target: $0.value) }
    }

    public var types: [String] { table.map(\.type) }

    /// --on-failure TYPE's route unless a --route says otherwise: "TYPE=/api/TYPE".
    public static func failureRoute(for type: String) -> String {
        "\(type)=/api/\(type)"
    }

    public func target(for type: String) -> String? {
        table.first { $0.type == type }?.target
    }

    /// Job types travel in a header (X-Job-Type) and in logs: printable ASCII, no spaces.
    public static func checkType(_ type: String) throws(Invalid) {
        guard !type.isEmpty, type.utf8.count <= 200,
              type.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            throw Invalid(description: "job type '\(type)' must be 1-200 printable ASCII characters without spaces")
        }
    }
}
