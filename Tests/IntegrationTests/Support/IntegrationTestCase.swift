import CurlTransport
import Foundation
import Logging
import PostgresClient
@testable import ProcessJobsCore
import XCTest

/// A test with its own database (migrated unless `migrated` is false) and, on demand, its own app.
class IntegrationTestCase: XCTestCase {
    var databaseName = ""
    var databaseURL = ""
    var db: Connection!
    private var apps: [TestApp] = []

    /// Override to start from the original, unmigrated schema.
    var migrated: Bool { true }

    override func setUpWithError() throws {
        let created = try PostgresServer.shared.createDatabase()
        databaseName = created.name
        databaseURL = created.url
        db = try Connection(conninfo: databaseURL)
        try db.execute(script: Fixtures.originalSchema)
        if migrated { try db.execute(script: Migration.sql) }
    }

    override func tearDown() {
        apps.forEach { $0.stop() }
        apps = []
        db = nil
        PostgresServer.shared.dropDatabase(databaseName)
    }

    func startApp(token: String = "test-token", withDatabase: Bool = false, arguments: [String] = []) throws -> TestApp {
        let app = try TestApp(token: token, databaseURL: withDatabase ? databaseURL : nil, arguments: arguments)
        apps.append(app)
        return app
    }

    /// Environment for the binary pointed at this test's database and `app`.
    func environment(app: TestApp?, token: String = "test-token") -> [String: String] {
        var environment = ["DATABASE_URL": databaseURL, "SUPABASE_SERVICE_ROLE_KEY": token]
        if let app { environment["APP_URL"] = app.url }
        return environment
    }

    /// Runs the engine in-process against `app` with real libpq and libcurl.
    func runEngine(app: TestApp, token: String = "test-token", lockedBy: String = "test-host:1",
                   configure: (inout RunSettings) -> Void = { _ in }) throws -> RunReport {
        var settings = RunSettings()
        settings.seed = 42
        settings.maxRuntime = 60
        configure(&settings)
        let connection = try Connection(conninfo: databaseURL)
        let targets = Dictionary(uniqueKeysWithValues: Routes.defaults.map { ($0.key, app.url + $0.value) })
        let transport = CurlTransport(options: .init(requestTimeout: settings.requestTimeout,
                                                     maxConnections: settings.concurrency), wakeDescriptor: nil)
        let runner = Runner(store: JobStore(connection: connection, lockedBy: lockedBy), transport: transport,
                            settings: settings, targets: targets, credentials: Credentials(appToken: try Token.check(token, source: "test")),
                            stop: nil, log: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        return try runner.run()
    }
}
