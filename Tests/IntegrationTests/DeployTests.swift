import Foundation
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// The deployment files, checked the way they are used: the systemd units through
/// `systemd-analyze` (verify on an installed root, security rating), the timer's schedule,
/// the environment template, scripts/install into a temporary root, the cron line's command run
/// for real against the test database and app, the Kubernetes manifests parsed, and the
/// least-privilege role of docs/supabase.md applied to a real server.
final class DeployTests: IntegrationTestCase {
    // The role test starts from the original schema, as on Supabase before `migrate`; the
    // others migrate when they need to.
    override var migrated: Bool { false }

    private(set) var scratch = ""
    private var roles: [String] = []

    override func setUpWithError() throws {
        try super.setUpWithError()
        scratch = NSTemporaryDirectory() + "pj-deploy-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    }

    override func tearDown() {
        super.tearDown()  // drops the database first: the roles hold privileges in it
        if !roles.isEmpty, let admin = try? Connection(conninfo: PostgresServer.shared.adminURL) {
            for role in roles.reversed() { _ = try? admin.query("DROP ROLE IF EXISTS \(role)") }
        }
        try? FileManager.default.removeItem(atPath: scratch)
    }

    // MARK: systemd

    func testSystemdUnitsPassVerifyOnAnInstalledRoot() throws {
        let analyze = try systemdAnalyze()
        let root = scratch + "/root"
        try install(into: root)
        try copySystemdOwnUnits(into: root)
        // --root makes verify resolve everything inside the root, ExecStart= binaries included.
        let units = ["process-jobs.service", "process-jobs.timer", "process-jobs-failure@process-jobs.service.service"]
        let clean = try shell(analyze, ["verify", "--man=no", "--root=\(root)"] + units)
        XCTAssertEqual(clean.status, 0, clean.stderr)
        XCTAssertEqual((clean.stdout + clean.stderr).trimmingCharacters(in: .whitespacesAndNewlines), "",
                       "systemd-analyze verify must print nothing")

        // A control: the same call does see a missing binary and an unknown setting.
        try FileManager.default.removeItem(atPath: root + "/usr/local/bin/process-jobs")
        let service = root + "/etc/systemd/system/process-jobs.service"
        try (try read(service)).replacingOccurrences(of: "Type=oneshot", with: "Type=oneshot\nNoSuchSetting=1")
            .write(toFile: service, atomically: true, encoding: .utf8)
        let broken = try shell(analyze, ["verify", "--man=no", "--root=\(root)"] + units)
        XCTAssertTrue(broken.stderr.contains("/usr/local/bin/process-jobs is not executable"), broken.stderr)
        XCTAssertTrue(broken.stderr.contains("NoSuchSetting"), broken.stderr)
    }

    func testServiceSecurityExposureIsAtMost1_5() throws {
        let analyze = try systemdAnalyze()
        let unit = repositoryPath("deploy/systemd/process-jobs.service")
        // --threshold is the exposure times ten: exit status non-zero above 1.5.
        let result = try shell(analyze, ["security", "--offline=true", "--threshold=15", "--no-pager", unit])
        let output = result.stdout + result.stderr
        let figure = firstMatch(#"Overall exposure level for process-jobs\.service: ([0-9.]+)"#, in: output).flatMap(Double.init)
        print("systemd-analyze security --offline=true: exposure level \(figure.map { String($0) } ?? "?") for process-jobs.service")
        guard let figure else { return XCTFail("no exposure figure in: \(output)") }
        XCTAssertLessThanOrEqual(figure, 1.5, output)
        XCTAssertEqual(result.status, 0, output)
    }

    /// The unit cannot be started here (no systemd as PID 1), so its two sandbox settings that
    /// can break the binary are checked against what it really does: every system call of a
    /// repeat-mode run (strace) must pass SystemCallFilter=, every socket RestrictAddressFamilies=.
    func testBinarySystemCallsFitTheUnitsFilter() throws {
        let analyze = try systemdAnalyze()
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/strace") else {
            throw XCTSkip("strace is not installed (apt-get install strace)")
        }
        let service = try unitSettings("deploy/systemd/process-jobs.service")
        var allowed: Set<String> = [], denied: Set<String> = []
        for line in service["Service", "SystemCallFilter"] {
            let deny = line.hasPrefix("~")
            for name in line.dropFirst(deny ? 1 : 0).split(separator: " ") {
                let calls = try expandSyscallGroup(String(name), analyze: analyze)
                if deny { denied.formUnion(calls) } else { allowed.formUnion(calls) }
            }
        }
        XCTAssertGreaterThan(allowed.count, 100, "could not expand the filter")
        XCTAssertEqual(service["Service", "SystemCallErrorNumber"], ["EPERM"])

        try db.execute(script: Migration.sql)
        let app = try startApp()
        try db.insertJobs("generate-image", count: 50)
        let binary = ProcessInfo.processInfo.environment["PROCESS_JOBS_RELEASE_BIN"].flatMap { $0.isEmpty ? nil : $0 } ?? Paths.binary
        let trace = scratch + "/trace"
        var traced = binaryEnvironment(environment(app: app))
        traced["JOURNAL_STREAM"] = "8:1"  // log as under systemd
        let result = try shell("/usr/bin/strace", ["-f", "-qq", "-o", trace, binary, "run", "--every", "1s", "--for", "2s"],
                               environment: traced, timeout: 60)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try db.count(where: "status = 'completed'"), 50)
        let log = try read(trace)
        let used = Set(matches(#"(?m)^[0-9]+\s+([a-z0-9_]+)\("#, in: log))
        print("system calls of a run: \(used.count): \(used.sorted().joined(separator: " "))")
        XCTAssertGreaterThan(used.count, 20, "strace saw too little: \(result.stderr)")
        XCTAssertEqual(used.subtracting(allowed).sorted(), [], "calls outside SystemCallFilter=@system-service")
        XCTAssertEqual(used.intersection(denied).sorted(), [], "calls the unit denies")
        let families = Set(matches(#"socket\((AF_[A-Z0-9]+)"#, in: log))
        let permitted = Set(service["Service", "RestrictAddressFamilies"].flatMap { $0.split(separator: " ").map(String.init) })
        XCTAssertEqual(families.subtracting(permitted).sorted(), [], "socket families outside RestrictAddressFamilies=")
    }

    func testTimerFiresEveryTenSecondsWithoutOverlap() throws {
        let timer = try unitSettings("deploy/systemd/process-jobs.timer")
        XCTAssertEqual(timer["Timer", "OnCalendar"], ["*:*:0/10"])
        XCTAssertEqual(timer["Timer", "AccuracySec"], ["1s"], "the default accuracy (1 min) would defeat a 10 s cadence")
        XCTAssertEqual(timer["Timer", "Persistent"], ["true"])
        XCTAssertEqual(timer["Timer", "RandomizedDelaySec"], ["0"])
        XCTAssertEqual(timer["Timer", "Unit"], ["process-jobs.service"])
        XCTAssertEqual(timer["Install", "WantedBy"], ["timers.target"])

        // The schedule really is every 10 s.
        let analyze = try systemdAnalyze()
        let calendar = try shell(analyze, ["calendar", "--iterations=7", "*:*:0/10"], environment: ["TZ": "UTC", "PATH": "/usr/bin:/bin"])
        XCTAssertEqual(calendar.status, 0, calendar.stderr)
        let times = matches(#"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC"#, in: calendar.stdout).compactMap(utcDate)
        XCTAssertEqual(times.count, 7, calendar.stdout)
        XCTAssertEqual(Set(zip(times, times.dropFirst()).map { $1.timeIntervalSince($0) }), [10])

        // One run at a time (oneshot), stopped gracefully within --grace, bounded in time.
        let service = try unitSettings("deploy/systemd/process-jobs.service")
        XCTAssertEqual(service["Service", "Type"], ["oneshot"])
        let help = try runBinary(["run", "--help"]).stdout
        let grace = try helpDefault("--grace", in: help)
        let maxRuntime = try helpDefault("--max-runtime", in: help)
        let requestTimeout = try helpDefault("--request-timeout", in: help)
        let stop = try systemdSeconds(XCTUnwrap(service["Service", "TimeoutStopSec"].last))
        let start = try systemdSeconds(XCTUnwrap(service["Service", "TimeoutStartSec"].last))
        XCTAssertGreaterThan(stop, grace + 5, "TimeoutStopSec must leave the run time to record after --grace")
        XCTAssertGreaterThan(start, maxRuntime + requestTimeout, "TimeoutStartSec must not cut a normal run")
        XCTAssertEqual(service["Service", "ExecStart"], ["/usr/local/bin/process-jobs run $PROCESS_JOBS_ARGS"])
        XCTAssertEqual(service["Service", "EnvironmentFile"], ["/etc/process-jobs/process-jobs.env"])
        XCTAssertEqual(service["Service", "LoadCredential"], ["service-role-key:/etc/process-jobs/service-role-key"])
        XCTAssertEqual(service["Unit", "OnFailure"], ["process-jobs-failure@%n.service"])
        XCTAssertEqual(service["Service", "DynamicUser"], ["yes"])
        let text = try read(repositoryPath("deploy/systemd/process-jobs.service"))
        XCTAssertTrue(text.contains("LoadCredentialEncrypted="), "the encrypted variant is documented")
        XCTAssertFalse(text.contains("SUPABASE_SERVICE_ROLE_KEY="), "no key in the unit")
    }

    func testFailureReporterExplainsTheExitStatusAndMailsOncePerInterval() throws {
        let bin = scratch + "/bin"
        let mails = scratch + "/mails"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try script(bin + "/sendmail", "#!/bin/sh\ncat >> '\(mails)'\necho '--- end of mail' >> '\(mails)'\n")
        try script(bin + "/journalctl", "#!/bin/sh\necho \"journal lines for $*\"\n")
        var environment = ["PATH": bin + ":/usr/bin:/bin", "MONITOR_SERVICE_RESULT": "exit-code",
                           "MONITOR_EXIT_CODE": "exited", "MONITOR_EXIT_STATUS": "77",
                           "MONITOR_INVOCATION_ID": "0123456789abcdef", "STATE_DIRECTORY": scratch + "/state"]
        let reporter = repositoryPath("deploy/systemd/process-jobs-notify-failure")

        let logOnly = try shell(reporter, ["process-jobs.service"], environment: environment)
        XCTAssertEqual(logOnly.status, 0, logOnly.stderr)
        XCTAssertTrue(logOnly.stderr.hasPrefix("<3>process-jobs.service token rejected (77)"), logOnly.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: mails), "no MAILTO, no mail")

        environment["MAILTO"] = "ops@example.com"
        environment["MONITOR_EXIT_STATUS"] = "75"
        let mailed = try shell(reporter, ["process-jobs.service"], environment: environment)
        XCTAssertEqual(mailed.status, 0, mailed.stderr)
        XCTAssertTrue(mailed.stderr.contains("database unavailable (75)"), mailed.stderr)
        let mail = try read(mails)
        XCTAssertTrue(mail.contains("To: ops@example.com"), mail)
        XCTAssertTrue(mail.contains("process-jobs.service failed"), mail)
        XCTAssertTrue(mail.contains("journal lines for --no-pager -o short-iso -n 50 _SYSTEMD_INVOCATION_ID=0123456789abcdef"), mail)

        let again = try shell(reporter, ["process-jobs.service"], environment: environment)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stderr.contains("skipped"), again.stderr)
        XCTAssertEqual(try read(mails).components(separatedBy: "--- end of mail").count - 1, 1, "one mail per interval")
    }

    // MARK: The environment template

    func testEnvironmentExampleNamesEveryVariableInASyntaxBothReadersAccept() throws {
        let path = repositoryPath("deploy/systemd/process-jobs.env.example")
        let text = try read(path)
        // Every setting: NAME='value', which systemd's EnvironmentFile= and /bin/sh read alike.
        for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.trimmingCharacters(in: .whitespaces).isEmpty {
            XCTAssertNotNil(firstMatch(#"^([A-Z_][A-Z0-9_]*)='[^']*'$"#, in: String(line)), "not NAME='value': \(line)")
        }
        let named = Set(matches(#"(?m)^#?([A-Z_][A-Z0-9_]*)="#, in: text))
        let expected: Set = ["DATABASE_URL", "SUPABASE_SERVICE_ROLE_KEY", "NEXT_PUBLIC_APP_URL", "APP_URL", "PROCESS_JOBS_ARGS",
                             "PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGPASSFILE", "PGSSLMODE", "PGSSLROOTCERT",
                             "PGCONNECT_TIMEOUT", "PGAPPNAME", "PGSERVICE", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY",
                             "PROCESS_JOBS_TOKEN_FILE"]
        XCTAssertEqual(expected.subtracting(named), [], "variables missing from the template")
        // ... and every variable the binary's help mentions.
        let help = try runBinary(["run", "--help"]).stdout
        for variable in Set(matches(#"\$([A-Z_][A-Z0-9_]*)"#, in: help)) {
            XCTAssertTrue(text.contains(variable), "\(variable) (from `run --help`) is not in the template")
        }
        XCTAssertNil(firstMatch(#"(?m)^SUPABASE_SERVICE_ROLE_KEY="#, in: text), "the key belongs in the credential file")

        // /bin/sh (the cron wrapper) reads the URL whole, '&' and all.
        let sourced = try shell("/bin/sh", ["-c", "set -a; . \"$1\"; printf '%s' \"$DATABASE_URL\"", "sh", path],
                                environment: ["PATH": "/usr/bin:/bin"])
        XCTAssertEqual(sourced.status, 0, sourced.stderr)
        XCTAssertEqual(sourced.stdout, firstMatch(#"(?m)^DATABASE_URL='([^']*)'$"#, in: text))
        XCTAssertTrue(sourced.stdout.contains("sslmode=verify-full&sslrootcert="), sourced.stdout)
    }

    // MARK: scripts/install

    func testInstallIntoDestdirPlacesFilesWithModesAndKeepsAnExistingEnvFile() throws {
        let root = scratch + "/stage"
        let first = try install(into: root, arguments: ["--prefix", "/opt/pj", "--cron"])
        XCTAssertTrue(first.stdout.contains("Next steps"), first.stdout)
        XCTAssertTrue(first.stdout.contains("created /etc/process-jobs/process-jobs.env (mode 0600)"), first.stdout)
        let expected: [(String, Int)] = [
            ("/opt/pj/bin/process-jobs", 0o755),
            ("/opt/pj/libexec/process-jobs/process-jobs-cron", 0o755),
            ("/opt/pj/libexec/process-jobs/process-jobs-notify-failure", 0o755),
            ("/etc/systemd/system/process-jobs.service", 0o644),
            ("/etc/systemd/system/process-jobs.timer", 0o644),
            ("/etc/systemd/system/process-jobs-failure@.service", 0o644),
            ("/etc/process-jobs", 0o755),
            ("/etc/process-jobs/process-jobs.env", 0o600),
            ("/etc/cron.d/process-jobs", 0o644),
            ("/opt/pj/share/doc/process-jobs/deploy.md", 0o644),
            ("/opt/pj/share/doc/process-jobs/supabase.md", 0o644),
            ("/opt/pj/share/doc/process-jobs/least-privilege.sql", 0o644),
            ("/opt/pj/share/doc/process-jobs/migration.sql", 0o644),
            ("/opt/pj/share/doc/process-jobs/process-jobs.env.example", 0o644),
            ("/opt/pj/share/man/man1/process-jobs.1", 0o644),
            ("/opt/pj/share/bash-completion/completions/process-jobs", 0o644),
            ("/opt/pj/share/zsh/site-functions/_process-jobs", 0o644),
            ("/opt/pj/share/fish/vendor_completions.d/process-jobs.fish", 0o644),
        ]
        for (path, mode) in expected {
            XCTAssertEqual(try? self.mode(root + path), mode, "\(path): mode \(String(mode, radix: 8)) expected")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: root + "/opt/pj/bin/process-jobs")),
                       try Data(contentsOf: URL(fileURLWithPath: Paths.binary)))
        // Paths inside follow --prefix.
        let service = try read(root + "/etc/systemd/system/process-jobs.service")
        XCTAssertTrue(service.contains("ExecStart=/opt/pj/bin/process-jobs run $PROCESS_JOBS_ARGS"), service)
        for file in ["/etc/systemd/system/process-jobs.service", "/etc/systemd/system/process-jobs-failure@.service",
                     "/etc/cron.d/process-jobs", "/opt/pj/libexec/process-jobs/process-jobs-cron"] {
            XCTAssertFalse(try read(root + file).contains("/usr/local/"), "\(file) still points at /usr/local")
        }
        XCTAssertTrue(try read(root + "/etc/cron.d/process-jobs").contains("/opt/pj/libexec/process-jobs/process-jobs-cron --every 10s"))

        // A second install keeps the operator's configuration.
        let envFile = root + "/etc/process-jobs/process-jobs.env"
        try "DATABASE_URL='mine'\n".write(toFile: envFile, atomically: false, encoding: .utf8)
        let second = try install(into: root, arguments: ["--prefix", "/opt/pj"])
        XCTAssertEqual(try read(envFile), "DATABASE_URL='mine'\n")
        XCTAssertEqual(try mode(envFile), 0o600)
        XCTAssertTrue(second.stdout.contains("kept the existing /etc/process-jobs/process-jobs.env"), second.stdout)

        // The warning about a binary that needs the Swift runtime matches what ldd says.
        let needsRuntime = try shell("/usr/bin/env", ["ldd", Paths.binary]).stdout.contains("libswift")
        XCTAssertEqual(first.stderr.contains("links the Swift runtime dynamically"), needsRuntime, first.stderr)

        // Usage errors.
        let relative = try shell(Paths.script("install"), ["--no-build", "--prefix", "opt"], environment: ["DESTDIR": root, "PATH": "/usr/bin:/bin"])
        XCTAssertEqual(relative.status, 64, relative.stderr)
        let missing = try shell(Paths.script("install"), ["--binary", scratch + "/nothing"], environment: ["DESTDIR": root, "PATH": "/usr/bin:/bin"])
        XCTAssertEqual(missing.status, 66, missing.stderr)
    }

    /// The release binary (PROCESS_JOBS_RELEASE_BIN, e.g. .build-release/release/process-jobs)
    /// carries the Swift runtime: a host needs libpq and libcurl, nothing from a toolchain.
    func testReleaseBinaryNeedsOnlyLibpqLibcurlAndSystemLibraries() throws {
        let binary = try releaseBinary()
        let size = try FileManager.default.attributesOfItem(atPath: binary)[.size] as? Int ?? 0
        print("release binary: \(binary), \(size) bytes (\(String(format: "%.1f", Double(size) / 1_048_576)) MiB)")
        let ldd = try shell("/usr/bin/env", ["ldd", binary])
        XCTAssertEqual(ldd.status, 0, ldd.stderr)
        for runtime in ["libswift", "libFoundation", "libdispatch", "libBlocksRuntime", "lib_Foundation"] {
            XCTAssertFalse(ldd.stdout.contains(runtime), "\(runtime) in ldd output:\n\(ldd.stdout)")
        }
        XCTAssertTrue(ldd.stdout.contains("libpq.so"), ldd.stdout)
        // libcurl is opened with dlopen on the first request (runs with nothing due never load it):
        // not linked, but named in the binary, so a host still needs libcurl4.
        XCTAssertFalse(ldd.stdout.contains("libcurl.so"), ldd.stdout)
        let named = try shell("/usr/bin/env", ["grep", "-c", "libcurl.so.4", binary])
        XCTAssertEqual(named.status, 0, "the binary must name libcurl.so.4 for dlopen")
        // What it asks for directly: libpq, the libcrypto libpq brings anyway (HMAC for signed
        // requests), and the C runtime every distribution has (libstdc++ is linked in:
        // Sources/process-jobs/link/libstdc++.so).
        let readelf = try shell("/usr/bin/env", ["readelf", "-d", binary])
        if readelf.status == 0 {
            let needed = Set(matches(#"\(NEEDED\)\s+Shared library: \[([^\]]+)\]"#, in: readelf.stdout))
            let allowed = #"^(libpq\.so\.5|libcrypto\.so\.3|libcurl\.so\.4|libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1|libutil\.so\.1|libgcc_s\.so\.1|ld-linux[-a-z0-9_.]*\.so\.[0-9])$"#
            XCTAssertEqual(needed.filter { firstMatch(allowed, in: $0, group: 0) == nil }, [], "unexpected libraries: \(needed)")
        }
        // Foundation proper brings FoundationInternationalization and ICU's data (about 50 MB of
        // binary, 2.5 MiB more resident in every run): the product uses FoundationEssentials only.
        let icu = try shell("/usr/bin/env", ["grep", "-c", "FoundationInternationalization", binary])
        XCTAssertNotEqual(icu.status, 0, "the release binary links Foundation's internationalization (import FoundationEssentials instead)")
        XCTAssertEqual(try shell(binary, ["--version"]).status, 0)
    }

    /// The functions a run executes sit together in the release binary (the linker follows
    /// Sources/process-jobs/link/hot-sections.order), so a run maps few pages of code. Fails when
    /// the list goes stale (most of its functions renamed: `scripts/bench --write-link-order`) or
    /// when the linker stops following it.
    func testReleaseBinaryPacksTheHotFunctionsTogether() throws {
        let binary = try releaseBinary()
        let list = try String(contentsOf: Paths.repository.appendingPathComponent("Sources/process-jobs/link/hot-sections.order"),
                              encoding: .utf8)
        let listed = Set(list.split(separator: "\n").compactMap { line -> String? in
            line.hasPrefix(".text.") ? String(line.dropFirst(".text.".count)) : nil
        })
        let nm = try shell("/usr/bin/env", ["nm", "--defined-only", "-S", binary])
        XCTAssertEqual(nm.status, 0, nm.stderr)
        var spans: [(start: Int, size: Int)] = []
        for line in nm.stdout.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 4, listed.contains(String(fields[3])),
                  let start = Int(fields[0], radix: 16), let size = Int(fields[1], radix: 16) else { continue }
            spans.append((start, size))
        }
        let found = Set(spans.map(\.start)).count
        XCTAssertGreaterThan(Double(found), 0.8 * Double(listed.count),
                             "only \(found) of \(listed.count) listed functions exist: scripts/bench --write-link-order")
        // A local name can also exist in code the linker cannot move: judge the tightest range
        // that holds nine in ten of the listed functions.
        let sorted = spans.sorted { $0.start < $1.start }
        let count = max(1, sorted.count * 9 / 10)
        var best = (span: Int.max, bytes: 0)
        for first in 0...(sorted.count - count) {
            let window = sorted[first..<(first + count)]
            let span = window.map { $0.start + $0.size }.max()! - window.first!.start
            if span < best.span { best = (span, window.reduce(0) { $0 + $1.size }) }
        }
        print("hot functions: \(found) of \(listed.count) listed; nine in ten: \(best.bytes) bytes within \(best.span)")
        XCTAssertLessThan(best.span, best.bytes * 3 / 2,
                          "the listed functions are spread out: is the linker gold, following --section-ordering-file?")
    }

    /// The release binary under test: PROCESS_JOBS_RELEASE_BIN, set by CI.
    private func releaseBinary() throws -> String {
        guard let binary = ProcessInfo.processInfo.environment["PROCESS_JOBS_RELEASE_BIN"], !binary.isEmpty else {
            throw XCTSkip("set PROCESS_JOBS_RELEASE_BIN to a release build: PROCESS_JOBS_RELEASE_BIN=$(scripts/build-release)")
        }
        return binary
    }

    // MARK: cron

    func testCronLineRunsRepeatedlyAndExitsInTime() throws {
        try db.execute(script: Migration.sql)
        let app = try startApp()
        let first = try (0..<4).map { _ in try db.insertJob("generate-image") }
        let cron = try cronCommand(app: app, every: "1s", window: "3s")

        let started = Date()
        let child = try Child("/bin/sh", ["-c", cron.command], environment: cron.environment)
        defer { child.cleanUp() }
        awaitCondition("the first run's summary line", timeout: 30) { self.logText(cron.log).contains("\"run done\"") }
        // Jobs that arrive after the first run are taken by a later one in the same process.
        let later = try (0..<2).map { _ in try db.insertJob("generate-aplus", payload: #"{"projectId":"p2"}"#) }
        let status = child.wait(timeout: 30)
        let elapsed = Date().timeIntervalSince(started)

        XCTAssertEqual(status, 0, "stderr: \(child.stderr)\nlog: \(logText(cron.log))")
        XCTAssertGreaterThanOrEqual(elapsed, 2, "runs start at 0, 1 and 2 s")
        XCTAssertLessThan(elapsed, 3 + 5, "--for 3s must end the process soon after 3 s")
        let log = logText(cron.log)
        let summaries = log.components(separatedBy: "\"run done\"").count - 1
        print("cron command: \(summaries) runs in \(String(format: "%.2f", elapsed)) s")
        XCTAssertGreaterThanOrEqual(summaries, 3, log)
        XCTAssertEqual(log.components(separatedBy: "logger-invoked -t process-jobs").count - 1, 1, "output goes to logger -t process-jobs: \(log)")
        XCTAssertEqual(child.stdout + child.stderr, "", "nothing for cron to mail")
        XCTAssertFalse(log.contains("test-token"), "the key never appears in the log")
        for id in first + later { XCTAssertEqual(try db.job(id).status, "completed", id) }
    }

    func testCronFlockKeepsASecondInstanceOut() throws {
        try db.execute(script: Migration.sql)
        let app = try startApp()
        try db.insertJob("generate-image")
        let long = try cronCommand(app: app, every: "1s", window: "4s")
        let holder = try Child("/bin/sh", ["-c", long.command], environment: long.environment)
        defer { holder.cleanUp() }
        awaitCondition("the first instance's first run", timeout: 30) { self.logText(long.log).contains("\"run done\"") }

        let started = Date()
        let second = try shell("/bin/sh", ["-c", long.command], environment: long.environment, timeout: 30)
        XCTAssertEqual(second.status, 1, "flock -n gives up at once with status 1: \(second.stderr)")
        XCTAssertLessThan(Date().timeIntervalSince(started), 2)
        XCTAssertEqual(second.stdout + second.stderr, "")
        XCTAssertEqual(logText(long.log).components(separatedBy: "logger-invoked").count - 1, 1, "the second instance started nothing")

        XCTAssertEqual(holder.wait(timeout: 30), 0, holder.stderr)
        let short = try cronCommand(app: app, every: "1s", window: "1s", log: long.log)
        let third = try shell("/bin/sh", ["-c", short.command], environment: short.environment, timeout: 30)
        XCTAssertEqual(third.status, 0, "the lock is free once the first has ended: \(third.stderr) \(logText(long.log))")
    }

    func testCronWrapperUnderTheJournalKeepsEachLinesPriority() throws {
        try db.execute(script: Migration.sql)
        let app = try startApp()
        let id = try db.insertJob("generate-image")
        // A stand-in systemd-cat: the wrapper re-executes itself under it, then tells the binary
        // (JOURNAL_STREAM) that stderr is a journal stream, so lines carry "<6>"-style priorities.
        let cron = try cronCommand(app: app, every: "1s", window: "1s", route: "journal")
        let result = try shell("/bin/sh", ["-c", cron.command], environment: cron.environment, timeout: 30)
        let log = logText(cron.log)
        XCTAssertEqual(result.status, 0, result.stderr + log)
        XCTAssertTrue(log.contains("systemd-cat-invoked -t process-jobs -- "), log)
        XCTAssertNotNil(firstMatch(#"(?m)^(<6>\{.*"msg":"run done")"#, in: log), log)
        XCTAssertEqual(try db.job(id).status, "completed")
    }

    func testCronWrapperStopsClearlyWithoutItsEnvironmentFile() throws {
        let app = try startApp()
        let cron = try cronCommand(app: app, every: "1s", window: "1s", route: "stderr")
        var environment = cron.environment
        environment["PROCESS_JOBS_ENV_FILE"] = scratch + "/absent.env"
        let wrapper = repositoryPath("cron/process-jobs-cron")
        let missing = try shell(wrapper, ["--every", "1s", "--for", "1s"], environment: environment, timeout: 30)
        XCTAssertEqual(missing.status, 78, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("cannot read \(scratch)/absent.env"), missing.stderr)

        // A world-readable file still works, with a warning.
        try db.execute(script: Migration.sql)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: cron.environment["PROCESS_JOBS_ENV_FILE"]!)
        let readable = try shell(wrapper, ["--every", "1s", "--for", "1s"], environment: cron.environment, timeout: 30)
        XCTAssertEqual(readable.status, 0, readable.stderr)
        XCTAssertTrue(readable.stderr.contains("is readable by every user"), readable.stderr)
    }

    // MARK: Kubernetes

    func testKubernetesCronJobAndSecretCarryTheSettingsThatMatter() throws {
        let documents = try yamlDocuments(["deploy/kubernetes/cronjob.yaml", "deploy/kubernetes/secret.example.yaml"])
        let cronJob = try XCTUnwrap(documents.first { $0["kind"] as? String == "CronJob" })
        let secret = try XCTUnwrap(documents.first { $0["kind"] as? String == "Secret" })
        let configMap = try XCTUnwrap(documents.first { $0["kind"] as? String == "ConfigMap" })

        XCTAssertEqual(dig(cronJob, "apiVersion") as? String, "batch/v1")
        XCTAssertEqual(dig(cronJob, "spec.concurrencyPolicy") as? String, "Forbid")
        XCTAssertEqual(dig(cronJob, "spec.schedule") as? String, "* * * * *")
        XCTAssertLessThan(dig(cronJob, "spec.startingDeadlineSeconds") as? Int ?? 999, 60)
        XCTAssertEqual(dig(cronJob, "spec.jobTemplate.spec.backoffLimit") as? Int, 0)
        let pod = try XCTUnwrap(dig(cronJob, "spec.jobTemplate.spec.template.spec") as? [String: Any])
        let container = try XCTUnwrap((pod["containers"] as? [[String: Any]])?.first)
        XCTAssertEqual(pod["restartPolicy"] as? String, "Never")
        XCTAssertEqual(pod["automountServiceAccountToken"] as? Bool, false)

        // The repeat mode inside the minute.
        let args = try XCTUnwrap(container["args"] as? [String])
        XCTAssertEqual(args.first, "run")
        let every = try DurationText.seconds(XCTUnwrap(argument("--every", in: args)))
        let window = try DurationText.seconds(XCTUnwrap(argument("--for", in: args)))
        XCTAssertEqual(every, 10)
        XCTAssertLessThan(window, 60, "the pod must end before the next minute's")
        let deadline = try XCTUnwrap(dig(cronJob, "spec.jobTemplate.spec.activeDeadlineSeconds") as? Int)
        XCTAssertGreaterThanOrEqual(Double(deadline), window + 120 + 25, "window + request timeout + grace")

        // Secrets from the Secret: the key as a file, the URL from a key of the Secret.
        let tokenFile = try XCTUnwrap(argument("--token-file", in: args))
        let mounts = container["volumeMounts"] as? [[String: Any]] ?? []
        let mount = try XCTUnwrap(mounts.first { tokenFile.hasPrefix(($0["mountPath"] as? String ?? "-") + "/") }, "no mount holds \(tokenFile)")
        XCTAssertEqual(mount["readOnly"] as? Bool, true)
        let volume = try XCTUnwrap((pod["volumes"] as? [[String: Any]])?.first { $0["name"] as? String == mount["name"] as? String })
        let secretName = try XCTUnwrap(dig(volume, "secret.secretName") as? String)
        XCTAssertEqual(secretName, dig(secret, "metadata.name") as? String)
        XCTAssertEqual(dig(volume, "secret.defaultMode") as? Int, 0o440)
        let item = try XCTUnwrap((dig(volume, "secret.items") as? [[String: Any]])?.first)
        XCTAssertEqual(item["path"] as? String, (tokenFile as NSString).lastPathComponent)
        let stringData = try XCTUnwrap(secret["stringData"] as? [String: String])
        XCTAssertNotNil(stringData[item["key"] as? String ?? "-"], "the Secret example has the key's entry")
        let env = container["env"] as? [[String: Any]] ?? []
        let databaseURL = try XCTUnwrap(env.first { $0["name"] as? String == "DATABASE_URL" })
        XCTAssertNil(databaseURL["value"], "DATABASE_URL must come from the Secret")
        XCTAssertEqual(dig(databaseURL, "valueFrom.secretKeyRef.name") as? String, secretName)
        XCTAssertNotNil(stringData[dig(databaseURL, "valueFrom.secretKeyRef.key") as? String ?? "-"])
        XCTAssertFalse(env.contains { $0["name"] as? String == "SUPABASE_SERVICE_ROLE_KEY" }, "the key travels as a file")
        let caVolume = (pod["volumes"] as? [[String: Any]])?.first { $0["configMap"] != nil }
        XCTAssertEqual(dig(caVolume ?? [:], "configMap.name") as? String, dig(configMap, "metadata.name") as? String)

        // Locked down.
        XCTAssertEqual(dig(pod, "securityContext.runAsNonRoot") as? Bool, true)
        XCTAssertNotEqual(dig(pod, "securityContext.runAsUser") as? Int ?? 0, 0)
        XCTAssertEqual(dig(pod, "securityContext.seccompProfile.type") as? String, "RuntimeDefault")
        XCTAssertEqual(dig(container, "securityContext.readOnlyRootFilesystem") as? Bool, true)
        XCTAssertEqual(dig(container, "securityContext.allowPrivilegeEscalation") as? Bool, false)
        XCTAssertEqual(dig(container, "securityContext.capabilities.drop") as? [String], ["ALL"])
        XCTAssertNotEqual(dig(container, "securityContext.privileged") as? Bool, true)

        // Stopping loses nothing: Kubernetes waits longer than --grace (25 s) before SIGKILL.
        XCTAssertGreaterThan(pod["terminationGracePeriodSeconds"] as? Int ?? 0, 25 + 5)

        // Sized from measurements: peak RSS 22 MB for 2,000 jobs (see the comment in the file).
        let requestMemory = try mebibytes(XCTUnwrap(dig(container, "resources.requests.memory") as? String))
        let limitMemory = try mebibytes(XCTUnwrap(dig(container, "resources.limits.memory") as? String))
        XCTAssertGreaterThanOrEqual(requestMemory, 32)
        XCTAssertGreaterThanOrEqual(limitMemory, requestMemory * 2)
        XCTAssertNotNil(dig(container, "resources.requests.cpu"))
        XCTAssertNotNil(dig(container, "resources.limits.cpu"))
    }

    // MARK: The least-privilege role (docs/supabase.md)

    func testLeastPrivilegeRoleRunsEverythingButMigrate() throws {
        let sqlPath = repositoryPath("deploy/supabase/least-privilege.sql")
        let sql = try read(sqlPath)
        // The guide shows the file itself.
        XCTAssertTrue(try read(repositoryPath("docs/supabase.md")).contains(sql.trimmingCharacters(in: .whitespacesAndNewlines)),
                      "docs/supabase.md must show deploy/supabase/least-privilege.sql verbatim")

        // Supabase's layout: the table and the database belong to `postgres`, which is no superuser
        // there (it may create roles). Roles are per server, so the names are unique per test.
        let suffix = String(UUID().uuidString.prefix(8)).lowercased()
        let owner = "pj_owner_\(suffix)", role = "pj_role_\(suffix)"
        let ownerPassword = UUID().uuidString, rolePassword = UUID().uuidString
        roles += [owner, role]
        let admin = try Connection(conninfo: PostgresServer.shared.adminURL)
        try admin.query("CREATE ROLE \(owner) LOGIN CREATEROLE PASSWORD '\(ownerPassword)'")
        try admin.query("ALTER DATABASE \(databaseName) OWNER TO \(owner)")
        try db.query("ALTER TABLE job_queue OWNER TO \(owner)")
        let ownerURL = try url(databaseURL, user: owner, password: ownerPassword)
        let roleURL = try url(databaseURL, user: role, password: rolePassword)
        let asOwner = try Connection(conninfo: ownerURL)
        // The role's name, not the schema's (`SCHEMA [IF NOT EXISTS] process_jobs`, `process_jobs.route_state`).
        try asOwner.execute(script: sql.replacingOccurrences(of: #"(?<!SCHEMA |EXISTS )process_jobs(?!\.)"#, with: role, options: .regularExpression)
            .replacingOccurrences(of: "CHANGE-ME", with: rolePassword))
        // With RLS on, as Supabase advises; the script's policy lets the role through.
        try asOwner.query("ALTER TABLE job_queue ENABLE ROW LEVEL SECURITY")
        // A pg_cron schema the role may not read, as on Supabase.
        try asOwner.execute(script: "CREATE SCHEMA cron; CREATE TABLE cron.job (jobid bigint, jobname text, schedule text, command text, active boolean, database text)")

        // migrate: refused clearly without ownership, done as the owner.
        let refused = try runBinary(["migrate"], environment: ["DATABASE_URL": roleURL])
        XCTAssertEqual(refused.status, 78, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("permission denied"), refused.stderr)
        XCTAssertNotEqual(try Migration.missing(on: db), [], "nothing changed")
        let migrated = try runBinary(["migrate"], environment: ["DATABASE_URL": ownerURL])
        XCTAssertEqual(migrated.status, 0, migrated.stderr)
        XCTAssertEqual(try Migration.missing(on: db), [])

        // run, under the role, with RLS on.
        let app = try startApp()
        let ids = try (0..<3).map { _ in try db.insertJob("generate-image") }
        let roleEnvironment = ["DATABASE_URL": roleURL, "APP_URL": app.url, "SUPABASE_SERVICE_ROLE_KEY": "test-token"]
        let run = try runBinary(["run"], environment: roleEnvironment)
        XCTAssertEqual(run.status, 0, run.stderr)
        for id in ids { XCTAssertEqual(try db.job(id).status, "completed") }

        // A tick with every flow-control gate and a pause, under the role: it reads the schema
        // version and writes route_state and route_pause.
        let flow = JobStore(connection: try Connection(conninfo: roleURL), lockedBy: "role-host:1")
        XCTAssertEqual(try flow.probe(types: ["generate-image"], lease: 60).schemaVersion, SchemaVersion.current)
        let limitedJob = try db.insertJob("generate-image")
        let claim = JobStore.Claim(limit: 5, quotas: [("generate-image", 5)], lease: 60, rescue: true,
                                   limits: ["generate-image": RouteLimits(rate: RouteRate(count: 10, period: 1), concurrency: 2)],
                                   fairBy: .user, userConcurrency: 3)
        let first = try flow.tick(outcomes: [], claim: claim, pauses: [RoutePause(type: "generate-aplus", seconds: 1, reason: "HTTP 429 from the app")])
        XCTAssertEqual(first.holds, [], "the run above (fair shares are on by default) made the route's row")
        XCTAssertEqual(first.claimed.map(\.id), [limitedJob])
        _ = try flow.tick(outcomes: first.claimed.map { PendingOutcome(job: $0, outcome: .complete(result: nil)) }, claim: nil)
        XCTAssertEqual(try db.query("SELECT claim_seq FROM process_jobs.route_state WHERE job_type = 'generate-image'").values.first?.first,
                       "1", "the limited claim wrote the route's row under the role")

        // Every operator subcommand the binary has at this point.
        try db.query("UPDATE job_queue SET completed_at = now() - interval '30 days' WHERE id = $1", [ids[0]])
        try db.query("UPDATE job_queue SET status = 'failed', retry_count = 3, error_message = 'x' WHERE id = $1", [ids[1]])
        let cancellable = try db.insertJob("generate-aplus", payload: #"{"projectId":"p-cancel"}"#)
        let invocations: [String: [String]] = [
            "status": ["status", "--json"],
            "enqueue": ["enqueue", "generate-aplus", "--payload", #"{"projectId":"p-role"}"#],
            "retry": ["retry", "--failed"],
            "prune": ["prune", "--older-than", "7d"],
            "check": ["check"],
            "pause": ["pause", "generate-aplus", "--for", "1m"],
            "resume": ["resume", "generate-aplus"],
            "cancel": ["cancel", cancellable],
        ]
        let help = try runBinary(["--help"]).stdout
        let subcommands = help.components(separatedBy: "SUBCOMMANDS:").last.map { matches(#"(?m)^  ([a-z][a-z-]*)"#, in: $0) } ?? []
        XCTAssertTrue(subcommands.contains("run") && subcommands.contains("migrate"), help)
        for subcommand in subcommands where !["run", "migrate", "help"].contains(subcommand) {
            guard let arguments = invocations[subcommand] else {
                XCTFail("new subcommand \(subcommand): add it to the least-privilege test")
                continue
            }
            let result = try runBinary(arguments, environment: roleEnvironment)
            print("under the least-privilege role: process-jobs \(arguments.joined(separator: " ")) -> \(result.status)")
            XCTAssertEqual(result.status, 0, "\(subcommand) under the least-privilege role: \(result.stderr)")
        }
        if subcommands.contains("prune") { XCTAssertEqual(try db.count(where: "id = '\(ids[0])'"), 0, "pruned") }
        if subcommands.contains("retry") { XCTAssertEqual(try db.job(ids[1]).status, "pending", "retried") }
        if subcommands.contains("enqueue") { XCTAssertEqual(try db.count(where: "payload->>'projectId' = 'p-role'"), 1) }

        // ... and nothing beyond rows of job_queue.
        let limited = try Connection(conninfo: roleURL)
        for statement in ["TRUNCATE job_queue", "ALTER TABLE job_queue ADD COLUMN extra int", "CREATE TABLE other (x int)",
                          "DROP POLICY \(role)_all_rows ON job_queue", "SELECT count(*) FROM cron.job"] {
            XCTAssertThrowsError(try limited.query(statement), statement) { error in
                XCTAssertEqual((error as? PostgresError)?.sqlState, "42501", "\(statement): \(error)")
            }
        }
    }
}
