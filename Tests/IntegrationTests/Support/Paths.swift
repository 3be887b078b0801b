import Foundation

/// Where the repository and the built binary are.
enum Paths {
    static let repository: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The process-jobs binary `swift test` built (or $PROCESS_JOBS_BIN).
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["PROCESS_JOBS_BIN"], !path.isEmpty { return path }
        // The test bundle sits beside the binary in the build folder.
        let bundle = Bundle(for: Marker.self).bundleURL.deletingLastPathComponent()
        let candidate = bundle.appendingPathComponent("process-jobs").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        return repository.appendingPathComponent(".build/debug/process-jobs").path
    }

    static func script(_ name: String) -> String {
        repository.appendingPathComponent("scripts/\(name)").path
    }

    private final class Marker {}
}
