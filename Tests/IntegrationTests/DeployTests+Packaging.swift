import Foundation
@testable import ProcessJobsCore
import XCTest

/// The packaged forms of the binary agree with it and with each other: the manual and the shell
/// completions that scripts/package and scripts/install ship (scripts/generate-docs) cover every
/// command and flag the binary defines, and the Containerfile, scripts/image and the Kubernetes
/// CronJob name the same runtime packages, user, entry point and version. (scripts/package-test
/// and scripts/image-test install and run the real packages in CI.)
extension DeployTests {
    func testManualAndCompletionsCoverEveryCommandAndFlagOfTheBinary() throws {
        let out = scratch + "/generated"
        let generated = try shell(Paths.script("generate-docs"), [Paths.binary, out], environment: toolchainEnvironment(), timeout: 900)
        XCTAssertEqual(generated.status, 0, generated.stderr)

        // Every subcommand and every flag of each, as the binary describes itself.
        let manual = try read(out + "/process-jobs.1")
        let dump = try shell(Paths.binary, ["--experimental-dump-help"])
        XCTAssertEqual(dump.status, 0, dump.stderr)
        let root = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(dump.stdout.utf8)) as? [String: Any])?["command"] as? [String: Any])
        let subcommands = (root["subcommands"] as? [[String: Any]] ?? []).filter { $0["commandName"] as? String != "help" }
        XCTAssertGreaterThanOrEqual(subcommands.count, 7)
        var flags = 0
        for subcommand in subcommands {
            let name = try XCTUnwrap(subcommand["commandName"] as? String)
            XCTAssertTrue(manual.contains(".It Em \(name)\n"), "the manual has no entry for \(name)")
            for argument in subcommand["arguments"] as? [[String: Any]] ?? [] where argument["shouldDisplay"] as? Bool ?? true {
                for long in (argument["names"] as? [[String: String]] ?? []) where long["kind"] == "long" {
                    flags += 1
                    XCTAssertTrue(manual.contains("Fl -\(long["name"] ?? "")"), "the manual lacks \(name) --\(long["name"] ?? "")")
                }
            }
        }
        XCTAssertGreaterThan(flags, 40, "too few flags found in --experimental-dump-help")

        // The completions are the binary's own (bash's without the #! line lintian refuses).
        for (shellName, file) in [("bash", "process-jobs.bash"), ("zsh", "_process-jobs"), ("fish", "process-jobs.fish")] {
            var expected = try shell(Paths.binary, ["--generate-completion-script", shellName]).stdout
            if expected.hasPrefix("#!") { expected = String(expected.drop { $0 != "\n" }.dropFirst()) }
            XCTAssertEqual(try read(out + "/" + file), expected, "\(file) differs from the binary's \(shellName) completion")
        }
        XCTAssertFalse(try read(out + "/process-jobs.bash").hasPrefix("#!"))

        // bash, with bash-completion, completes the subcommands and run's flags.
        let offered = try bashCompletions(out + "/process-jobs.bash", words: ["process-jobs", ""])
        for subcommand in subcommands.compactMap({ $0["commandName"] as? String }) {
            XCTAssertTrue(offered.contains(subcommand), "'process-jobs <Tab>' offers \(offered)")
        }
        let runFlags = try bashCompletions(out + "/process-jobs.bash", words: ["process-jobs", "run", "--"])
        for flag in ["--concurrency", "--batch-size", "--every", "--for", "--dry-run", "--token-file", "--app-url"] {
            XCTAssertTrue(runFlags.contains(flag), "'process-jobs run --<Tab>' offers \(runFlags)")
        }
        XCTAssertEqual(try bashCompletions(out + "/process-jobs.bash", words: ["process-jobs", "run", "--conc"]), ["--concurrency"])
    }

    func testContainerfileImageScriptAndCronJobAgree() throws {
        let containerfile = try read(repositoryPath("Containerfile"))
        let stages = containerfile.components(separatedBy: "\nFROM ").dropFirst()
        XCTAssertEqual(stages.count, 2, "a build stage and a runtime stage")
        let build = try XCTUnwrap(stages.first), runtime = try XCTUnwrap(stages.last)
        XCTAssertTrue(build.hasPrefix("docker.io/library/swift:6"), build)
        XCTAssertTrue(build.contains("scripts/build-release"), "the image's binary is the release build")
        XCTAssertTrue(runtime.hasPrefix("docker.io/library/debian:bookworm-slim\n"), runtime)
        let runtimePackages = Set(try XCTUnwrap(firstMatch(#"apt-get install -y --no-install-recommends ([a-z0-9 .+-]+?)\s*\\"#, in: runtime))
            .split(separator: " ").map(String.init))
        XCTAssertEqual(runtimePackages, ["libpq5", "libcurl4", "ca-certificates"])
        XCTAssertEqual(firstMatch(#"(?m)^USER (\S+)$"#, in: runtime), "65532:65532")
        XCTAssertEqual(firstMatch(#"(?m)^ENTRYPOINT (.+)$"#, in: runtime), #"["/usr/bin/process-jobs"]"#)
        XCTAssertEqual(firstMatch(#"(?m)^CMD (.+)$"#, in: runtime), #"["run"]"#)

        // scripts/image builds the same image offline.
        let image = try read(Paths.script("image"))
        let imagePackages = Set(try XCTUnwrap(firstMatch(#"(?m)^runtime=\(([^)]*)\)"#, in: image)).split(separator: " ").map(String.init))
        XCTAssertEqual(imagePackages.union(["ca-certificates"]), runtimePackages)
        XCTAssertEqual(firstMatch(#"(?m)^uid=([0-9]+)$"#, in: image), "65532")
        XCTAssertTrue(image.contains(#"--entrypoint '["/usr/bin/process-jobs"]' --cmd run"#))

        // The CronJob runs that image, as its user, under a registry name that is clearly a placeholder.
        let cronJob = try XCTUnwrap(try yamlDocuments(["deploy/kubernetes/cronjob.yaml"]).first { $0["kind"] as? String == "CronJob" })
        let pod = try XCTUnwrap(dig(cronJob, "spec.jobTemplate.spec.template.spec") as? [String: Any])
        let container = try XCTUnwrap((pod["containers"] as? [[String: Any]])?.first)
        XCTAssertEqual(container["image"] as? String, "YOUR-REGISTRY.example/process-jobs:\(Version.current)")
        XCTAssertEqual(dig(pod, "securityContext.runAsUser") as? Int, 65532)
        XCTAssertEqual(dig(pod, "securityContext.runAsGroup") as? Int, 65532)
        XCTAssertNil(container["command"], "the image's ENTRYPOINT is the binary")
    }

    /// What bash offers for `words` (the last is the word being completed), with bash-completion
    /// loaded as in an interactive shell.
    private func bashCompletions(_ script: String, words: [String]) throws -> [String] {
        let loader = "/usr/share/bash-completion/bash_completion"
        guard FileManager.default.fileExists(atPath: loader) else {
            throw DeployTestError("bash-completion is not installed (apt-get install bash-completion; scripts/setup does)")
        }
        let program = """
            . \(loader)
            . "$1"; shift
            function=$(complete -p process-jobs | sed -n 's/.* -F \\([^ ]*\\) .*/\\1/p')
            COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
            "$function" process-jobs "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
            printf '%s\\n' "${COMPREPLY[@]}"
            """
        let result = try shell("/bin/bash", ["--norc", "--noprofile", "-c", program, "bash", script] + words)
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.stdout.split(separator: "\n").map(String.init)
    }

    /// The test's environment: scripts/generate-docs builds argument-parser's manual tool with the
    /// toolchain on PATH.
    func toolchainEnvironment() -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = environment["HOME"] ?? scratch
        return environment
    }
}
