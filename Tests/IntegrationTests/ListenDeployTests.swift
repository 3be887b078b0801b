import Foundation
import XCTest

/// The listen mode's deployment files, checked as DeployTests checks the timer's: the unit
/// through `systemd-analyze` (verify on an installed root, security rating) and against the
/// oneshot unit's hardening, the Deployment parsed and held to the CronJob's Secret and lockdown.
extension DeployTests {
    private var listenUnit: String { "deploy/systemd/process-jobs-listen.service" }

    func testListenUnitPassesVerifyOnAnInstalledRoot() throws {
        let analyze = try systemdAnalyze()
        let root = scratch + "/root"
        try install(into: root)
        try copySystemdOwnUnits(into: root)
        let unit = root + "/etc/systemd/system/process-jobs-listen.service"
        try read(repositoryPath(listenUnit)).write(toFile: unit, atomically: true, encoding: .utf8)
        let units = ["process-jobs-listen.service", "process-jobs-failure@process-jobs-listen.service.service"]
        let clean = try shell(analyze, ["verify", "--man=no", "--root=\(root)"] + units)
        XCTAssertEqual(clean.status, 0, clean.stderr)
        XCTAssertEqual((clean.stdout + clean.stderr).trimmingCharacters(in: .whitespacesAndNewlines), "",
                       "systemd-analyze verify must print nothing")

        // A control: the same call does see an unknown setting in this unit.
        try (try read(unit)).replacingOccurrences(of: "Type=notify", with: "Type=notify\nNoSuchSetting=1")
            .write(toFile: unit, atomically: true, encoding: .utf8)
        let broken = try shell(analyze, ["verify", "--man=no", "--root=\(root)"] + units)
        XCTAssertTrue(broken.stderr.contains("NoSuchSetting"), broken.stderr)
    }

    func testListenUnitSecurityExposureIsAtMost1_5() throws {
        let analyze = try systemdAnalyze()
        let result = try shell(analyze, ["security", "--offline=true", "--threshold=15", "--no-pager", repositoryPath(listenUnit)])
        let output = result.stdout + result.stderr
        let figure = firstMatch(#"Overall exposure level for process-jobs-listen\.service: ([0-9.]+)"#, in: output).flatMap(Double.init)
        print("systemd-analyze security --offline=true: exposure level \(figure.map { String($0) } ?? "?") for process-jobs-listen.service")
        guard let figure else { return XCTFail("no exposure figure in: \(output)") }
        XCTAssertLessThanOrEqual(figure, 1.5, output)
        XCTAssertEqual(result.status, 0, output)
    }

    func testListenUnitIsANotifyServiceWithTheOneshotUnitsHardening() throws {
        let listen = try unitSettings(listenUnit)
        let oneshot = try unitSettings("deploy/systemd/process-jobs.service")
        XCTAssertEqual(listen["Service", "Type"], ["notify"])
        XCTAssertEqual(listen["Service", "NotifyAccess"], ["main"])
        XCTAssertEqual(listen["Service", "Restart"], ["on-failure"])
        XCTAssertEqual(listen["Service", "RestartPreventExitStatus"], ["77 78"])
        let watchdog = try systemdSeconds(XCTUnwrap(listen["Service", "WatchdogSec"].first, "WatchdogSec= is set"))
        XCTAssertGreaterThan(watchdog, 2 * 30, "above twice the default --db-timeout: a slow database is not a hang")
        let exec = try XCTUnwrap(listen["Service", "ExecStart"].first)
        XCTAssertTrue(exec.hasPrefix("/usr/local/bin/process-jobs run --listen"), exec)
        XCTAssertEqual(listen["Service", "LoadCredential"], oneshot["Service", "LoadCredential"])
        XCTAssertEqual(listen["Service", "EnvironmentFile"], oneshot["Service", "EnvironmentFile"])

        // Every setting of the oneshot unit's hardening block, the same here.
        let text = try read(repositoryPath("deploy/systemd/process-jobs.service"))
        let block = try XCTUnwrap(text.range(of: "# --- Hardening").map { text[$0.lowerBound...] })
        let keys = block.split(separator: "\n").compactMap { line -> String? in
            guard !line.hasPrefix("#"), let equals = line.firstIndex(of: "=") else { return nil }
            return String(line[..<equals])
        }
        XCTAssertGreaterThan(Set(keys).count, 30)
        for key in Set(keys) {
            XCTAssertEqual(listen["Service", key], oneshot["Service", key], key)
        }
    }

    func testKubernetesDeploymentProbesHealthzAndUsesTheCronJobsSecret() throws {
        let documents = try yamlDocuments(["deploy/kubernetes/deployment.yaml", "deploy/kubernetes/cronjob.yaml",
                                           "deploy/kubernetes/secret.example.yaml"])
        let deployment = try XCTUnwrap(documents.first { $0["kind"] as? String == "Deployment" })
        let cronJob = try XCTUnwrap(documents.first { $0["kind"] as? String == "CronJob" })
        let secret = try XCTUnwrap(documents.first { $0["kind"] as? String == "Secret" })
        XCTAssertEqual(deployment["apiVersion"] as? String, "apps/v1")
        let pod = try XCTUnwrap(dig(deployment, "spec.template.spec") as? [String: Any])
        let cronPod = try XCTUnwrap(dig(cronJob, "spec.jobTemplate.spec.template.spec") as? [String: Any])
        let container = try XCTUnwrap((pod["containers"] as? [[String: Any]])?.first)
        let cronContainer = try XCTUnwrap((cronPod["containers"] as? [[String: Any]])?.first)
        XCTAssertEqual(dig(deployment, "spec.selector.matchLabels") as? [String: String],
                       dig(deployment, "spec.template.metadata.labels") as? [String: String])

        // run --listen, --http on the port the probes use.
        let args = try XCTUnwrap(container["args"] as? [String])
        XCTAssertEqual(Array(args.prefix(2)), ["run", "--listen"])
        XCTAssertNil(argument("--every", in: args))
        let http = try XCTUnwrap(argument("--http", in: args))
        let port = try XCTUnwrap(container["ports"] as? [[String: Any]]).first
        XCTAssertEqual(http, "0.0.0.0:\(port?["containerPort"] as? Int ?? -1)")
        for probe in ["startupProbe", "livenessProbe", "readinessProbe"] {
            XCTAssertEqual(dig(container, "\(probe).httpGet.path") as? String, "/healthz", probe)
            XCTAssertEqual(dig(container, "\(probe).httpGet.port") as? String, port?["name"] as? String, probe)
        }

        // The CronJob's Secret, key file and lockdown.
        XCTAssertEqual(argument("--token-file", in: args), argument("--token-file", in: cronContainer["args"] as? [String] ?? []))
        let env = container["env"] as? [[String: Any]] ?? []
        let databaseURL = try XCTUnwrap(env.first { $0["name"] as? String == "DATABASE_URL" })
        XCTAssertEqual(dig(databaseURL, "valueFrom.secretKeyRef.name") as? String, dig(secret, "metadata.name") as? String)
        let listenURL = try XCTUnwrap(env.first { $0["name"] as? String == "PROCESS_JOBS_LISTEN_DATABASE_URL" })
        XCTAssertEqual(dig(listenURL, "valueFrom.secretKeyRef.optional") as? Bool, true, "only when the Secret has it")
        XCTAssertFalse(env.contains { $0["name"] as? String == "SUPABASE_SERVICE_ROLE_KEY" }, "the key travels as a file")
        XCTAssertEqual(NSDictionary(dictionary: container["securityContext"] as? [String: Any] ?? [:]),
                       NSDictionary(dictionary: cronContainer["securityContext"] as? [String: Any] ?? ["-": 0]))
        XCTAssertEqual(NSDictionary(dictionary: pod["securityContext"] as? [String: Any] ?? [:]),
                       NSDictionary(dictionary: cronPod["securityContext"] as? [String: Any] ?? ["-": 0]))
        XCTAssertEqual(NSArray(array: pod["volumes"] as? [Any] ?? []), NSArray(array: cronPod["volumes"] as? [Any] ?? [0]))
        XCTAssertEqual(pod["automountServiceAccountToken"] as? Bool, false)
        XCTAssertGreaterThan(pod["terminationGracePeriodSeconds"] as? Int ?? 0, 25 + 5)
        XCTAssertEqual(container["image"] as? String, cronContainer["image"] as? String)
    }
}
