import Foundation

struct CommandResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// A child process whose output goes to files (no pipe can fill up and block it).
final class Child {
    let process = Process()
    let stdoutPath: String
    let stderrPath: String

    init(_ executable: String, _ arguments: [String], environment: [String: String], stdin: String? = nil) throws {
        let base = NSTemporaryDirectory() + "pj-child-\(UUID().uuidString)"
        stdoutPath = base + ".out"
        stderrPath = base + ".err"
        FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        if let stdin {
            let pipe = Pipe()
            process.standardInput = pipe
            try process.run()
            pipe.fileHandleForWriting.write(Data(stdin.utf8))
            try pipe.fileHandleForWriting.close()
        } else {
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }
    }

    /// A child nobody waited for is killed and its output files removed: no test leaves either behind.
    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        cleanUp()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }
    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for exit; kills the child and returns nil after `timeout`.
    func wait(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(2_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        return process.terminationStatus
    }

    func result(timeout: Double) -> CommandResult {
        let status = wait(timeout: timeout) ?? -1
        defer { cleanUp() }
        return CommandResult(status: status, stdout: stdout, stderr: stderr)
    }

    func cleanUp() {
        try? FileManager.default.removeItem(atPath: stdoutPath)
        try? FileManager.default.removeItem(atPath: stderrPath)
    }
}

/// Runs a command to the end and returns its output.
func shell(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
           stdin: String? = nil, timeout: Double = 120) throws -> CommandResult {
    let child = try Child(executable, arguments, environment: environment ?? ProcessInfo.processInfo.environment, stdin: stdin)
    return child.result(timeout: timeout)
}

/// A clean environment for the binary: nothing from the developer's shell leaks into a test.
func binaryEnvironment(_ extra: [String: String]) -> [String: String] {
    var environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                       "HOME": NSTemporaryDirectory()]
    environment.merge(extra) { $1 }
    return environment
}

/// Runs the built process-jobs binary.
func runBinary(_ arguments: [String], environment: [String: String] = [:], stdin: String? = nil,
               timeout: Double = 60) throws -> CommandResult {
    try shell(Paths.binary, arguments, environment: binaryEnvironment(environment), stdin: stdin, timeout: timeout)
}

/// Starts the built binary in the background.
func startBinary(_ arguments: [String], environment: [String: String] = [:]) throws -> Child {
    try Child(Paths.binary, arguments, environment: binaryEnvironment(environment))
}
