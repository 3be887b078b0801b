import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// What DeployTests needs around the files it checks: paths, stand-in tools, parsers.
extension DeployTests {
    func repositoryPath(_ relative: String) -> String {
        Paths.repository.appendingPathComponent(relative).path
    }

    func read(_ path: String) throws -> String {
        try String(contentsOfFile: path, encoding: .utf8)
    }

    func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    func script(_ path: String, _ text: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
    }

    func systemdAnalyze() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for directory in path.split(separator: ":").map(String.init) + ["/usr/bin", "/bin"] {
            let candidate = directory + "/systemd-analyze"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw DeployTestError("systemd-analyze not found: install the systemd package (apt-get install -y systemd; .ci/run does)")
    }

    /// A `systemd-analyze syscall-filter` group (or a single call) as the set of call names.
    func expandSyscallGroup(_ name: String, analyze: String) throws -> Set<String> {
        guard name.hasPrefix("@") else { return [name] }
        let result = try shell(analyze, ["syscall-filter", "--no-pager", name])
        guard result.status == 0 else { throw DeployTestError("systemd-analyze syscall-filter \(name): \(result.stderr)") }
        var calls: Set<String> = []
        for line in result.stdout.split(separator: "\n").dropFirst() {
            let entry = line.trimmingCharacters(in: .whitespaces)
            if entry.isEmpty || entry.hasPrefix("#") { continue }
            calls.formUnion(try expandSyscallGroup(entry, analyze: analyze))
        }
        return calls
    }

    /// scripts/install with the binary the tests built (fast: no release build). SWIFT: the
    /// toolchain this test runs under, for the manual page (scripts/generate-docs).
    @discardableResult
    func install(into root: String, arguments: [String] = []) throws -> CommandResult {
        var environment = ["DESTDIR": root, "PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "HOME": scratch]
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        environment["SWIFT"] = path.split(separator: ":").map { $0 + "/swift" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        let result = try shell(Paths.script("install"), ["--no-build", "--binary", Paths.binary] + arguments,
                               environment: environment, timeout: 900)
        XCTAssertEqual(result.status, 0, "scripts/install failed: \(result.stderr)")
        return result
    }

    /// systemd's own units (sysinit.target, network-online.target, timers.target ...), which
    /// verify --root looks for inside the root.
    func copySystemdOwnUnits(into root: String) throws {
        guard let source = ["/usr/lib/systemd/system", "/lib/systemd/system"].first(where: { FileManager.default.fileExists(atPath: $0 + "/sysinit.target") }) else {
            throw DeployTestError("systemd's units (sysinit.target) not found: install the systemd package")
        }
        try FileManager.default.createDirectory(atPath: root + "/usr/lib/systemd", withIntermediateDirectories: true)
        let copy = try shell("/bin/cp", ["-a", source, root + "/usr/lib/systemd/"])
        XCTAssertEqual(copy.status, 0, copy.stderr)
    }

    /// A unit file's settings: section -> key -> every value in order.
    func unitSettings(_ relative: String) throws -> UnitSettings {
        var settings = UnitSettings()
        var section = ""
        for raw in try read(repositoryPath(relative)).split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") { section = String(line.dropFirst().dropLast()); continue }
            guard let equals = line.firstIndex(of: "=") else { continue }
            settings.values[section + "/" + line[..<equals], default: []].append(String(line[line.index(after: equals)...]))
        }
        return settings
    }

    /// "(default 25s)" after a flag in `--help`, in seconds.
    func helpDefault(_ flag: String, in help: String) throws -> Double {
        let text = try XCTUnwrap(firstMatch(NSRegularExpression.escapedPattern(for: flag) + #" <[a-z-]+>[\s\S]*?\(default ([0-9]+[a-z]*)"#, in: help),
                                 "no default for \(flag) in --help")
        return try DurationText.seconds(text)
    }

    /// A systemd time span as these units write it: "40s", "10min", "2h".
    func systemdSeconds(_ text: String) throws -> Double {
        let units: [String: Double] = ["s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600]
        let number = try XCTUnwrap(firstMatch(#"^([0-9]+)"#, in: text).flatMap(Double.init), text)
        let unit = String(text.drop { $0.isNumber })
        return number * (try XCTUnwrap(units[unit.isEmpty ? "s" : unit], "unit of \(text)"))
    }

    func utcDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.date(from: text)
    }

    /// The command of the job line in cron/process-jobs, pointed at this test's files and
    /// cadence; its output goes to a stand-in `logger` that appends to `log`.
    func cronCommand(app: TestApp, every: String, window: String, log: String? = nil, route: String = "syslog")
        throws -> (command: String, environment: [String: String], log: String) {
        let text = try read(repositoryPath("cron/process-jobs"))
        var cronEnvironment: [String: String] = [:]
        var jobs: [String] = []
        for line in text.split(separator: "\n").map(String.init) where !line.hasPrefix("#") && !line.isEmpty {
            if let name = firstMatch(#"^([A-Z_]+)="#, in: line) {
                cronEnvironment[name] = String(line.dropFirst(name.count + 1))
            } else {
                jobs.append(line)
            }
        }
        XCTAssertEqual(jobs.count, 1, "one job line")
        let fields = try XCTUnwrap(jobs.first).split(separator: " ", maxSplits: 6).map(String.init)
        XCTAssertEqual(fields.prefix(5).joined(separator: " "), "* * * * *")
        XCTAssertEqual(fields[5], "process-jobs", "runs as the process-jobs user")
        XCTAssertEqual(cronEnvironment["MAILTO"], "\"\"")
        let installed = "flock -n /etc/process-jobs/process-jobs.env /usr/local/libexec/process-jobs/process-jobs-cron --every 10s --for 55s"
        XCTAssertEqual(fields[6], installed)

        let directory = scratch + "/cron"
        let bin = directory + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        let logPath = log ?? directory + "/syslog"
        try script(bin + "/logger", "#!/bin/sh\necho \"logger-invoked $*\" >> '\(logPath)'\ncat >> '\(logPath)'\n")
        try script(bin + "/systemd-cat", """
            #!/bin/sh
            echo "systemd-cat-invoked $*" >> '\(logPath)'
            while [ "$1" != "--" ]; do shift; done
            shift
            exec "$@" >> '\(logPath)' 2>&1

            """)
        let tokenFile = directory + "/service-role-key"
        try "test-token\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: tokenFile)
        let envFile = directory + "/process-jobs.env"
        try """
            DATABASE_URL='\(databaseURL)'
            APP_URL='\(app.url)'
            PROCESS_JOBS_ARGS='--log-format json'
            PROCESS_JOBS_TOKEN_FILE='\(tokenFile)'

            """.write(toFile: envFile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: envFile)

        let command = fields[6]
            .replacingOccurrences(of: "/etc/process-jobs/process-jobs.env", with: envFile)
            .replacingOccurrences(of: "/usr/local/libexec/process-jobs/process-jobs-cron", with: repositoryPath("cron/process-jobs-cron"))
            .replacingOccurrences(of: "--every 10s --for 55s", with: "--every \(every) --for \(window)")
        // As cron runs it: SHELL=/bin/sh, the file's PATH (with the stand-ins first), and the
        // output route chosen here rather than by whether this host runs journald.
        let environment = ["PATH": bin + ":" + (cronEnvironment["PATH"] ?? "/usr/bin:/bin"), "HOME": directory,
                           "SHELL": "/bin/sh", "PROCESS_JOBS_ENV_FILE": envFile, "PROCESS_JOBS_BIN": Paths.binary,
                           "PROCESS_JOBS_CRON_LOG": route]
        return (command, environment, logPath)
    }

    func logText(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    func argument(_ flag: String, in arguments: [String]) -> String? {
        guard let index = arguments.firstIndex(of: flag), index + 1 < arguments.count else { return nil }
        return arguments[index + 1]
    }

    /// Parses YAML files with python3 + PyYAML; every document, in order.
    func yamlDocuments(_ files: [String]) throws -> [[String: Any]] {
        let program = """
            import json, sys
            try:
                import yaml
            except ImportError:
                sys.stderr.write("python3 has no PyYAML: apt-get install python3-yaml (or pip install pyyaml)\\n")
                sys.exit(3)
            documents = []
            for path in sys.argv[1:]:
                documents += [d for d in yaml.safe_load_all(open(path)) if d is not None]
            print(json.dumps(documents))
            """
        // Debian's python3 (python3-yaml, installed by scripts/setup) when present, else the one on PATH.
        let python = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? ["/usr/bin/python3"] : ["/usr/bin/env", "python3"]
        let result = try shell(python[0], Array(python.dropFirst()) + ["-c", program] + files.map(repositoryPath))
        guard result.status == 0 else { throw DeployTestError("cannot parse the YAML: \(result.stderr)") }
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
    }

    func dig(_ object: Any, _ path: String) -> Any? {
        path.split(separator: ".").reduce(Optional(object)) { current, key in
            (current as? [String: Any])?[String(key)]
        }
    }

    func mebibytes(_ quantity: String) throws -> Double {
        let number = try XCTUnwrap(firstMatch(#"^([0-9.]+)"#, in: quantity).flatMap(Double.init), quantity)
        if quantity.hasSuffix("Gi") { return number * 1024 }
        if quantity.hasSuffix("Mi") { return number }
        if quantity.hasSuffix("M") { return number * 1_000_000 / 1_048_576 }
        throw DeployTestError("unexpected memory quantity \(quantity)")
    }

    /// `base` (URI or key=value conninfo) with another user and password.
    func url(_ base: String, user: String, password: String) throws -> String {
        if base.contains("://") {
            var components = try XCTUnwrap(URLComponents(string: base), "cannot parse \(base)")
            components.user = user
            components.password = password
            return try XCTUnwrap(components.string)
        }
        return base + " user=\(user) password=\(password)"
    }

    func firstMatch(_ pattern: String, in text: String, group: Int = 1) -> String? {
        matches(pattern, in: text, group: group).first
    }

    func matches(_ pattern: String, in text: String, group: Int = 1) -> [String] {
        guard let expression = try? NSRegularExpression(pattern: pattern) else { return [] }
        return expression.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
            Range($0.range(at: group), in: text).map { String(text[$0]) }
        }
    }
}

/// A unit file's settings, read as `settings["Service", "Type"]`.
struct UnitSettings {
    var values: [String: [String]] = [:]
    subscript(section: String, key: String) -> [String] { values[section + "/" + key] ?? [] }
}

struct DeployTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
