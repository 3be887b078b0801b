import XCTest
@testable import ProcessJobsCore

final class RoutesTests: XCTestCase {
    private func table(_ routes: Routes) -> [String] {
        routes.table.map { "\($0.type)=\($0.target)" }
    }

    func testDefaultsAreTheContractRoutes() throws {
        let routes = try Routes()
        XCTAssertEqual(table(routes), [
            "generate-aplus=/api/process-aplus",
            "generate-complete-pack=/api/process-complete-pack",
            "generate-image=/api/process-image",
        ])
        XCTAssertEqual(routes.types, ["generate-aplus", "generate-complete-pack", "generate-image"])
        XCTAssertEqual(routes.target(for: "generate-image"), "/api/process-image")
        XCTAssertNil(routes.target(for: "resize"))
        XCTAssertEqual(try Routes(overrides: []), routes)
    }

    func testOverrides() throws {
        let cases: [(overrides: [String], table: [String])] = [
            (["resize=/api/resize"], [
                "generate-aplus=/api/process-aplus", "generate-complete-pack=/api/process-complete-pack",
                "generate-image=/api/process-image", "resize=/api/resize",
            ]),
            (["generate-image=/v2/image"], [
                "generate-aplus=/api/process-aplus", "generate-complete-pack=/api/process-complete-pack",
                "generate-image=/v2/image",
            ]),
            (["generate-aplus=", "generate-complete-pack="], ["generate-image=/api/process-image"]),
            (["generate-aplus=", "generate-complete-pack=", "generate-image="], []),
            (["hook=https://hooks.example/x", "generate-image=", "generate-aplus="], [
                "generate-complete-pack=/api/process-complete-pack", "hook=https://hooks.example/x",
            ]),
            (["local=http://localhost:9000/x"], [
                "generate-aplus=/api/process-aplus", "generate-complete-pack=/api/process-complete-pack",
                "generate-image=/api/process-image", "local=http://localhost:9000/x",
            ]),
            // Later flags win; removing an unknown type is harmless.
            (["a=/one", "a=/two", "nothing="], [
                "a=/two", "generate-aplus=/api/process-aplus", "generate-complete-pack=/api/process-complete-pack",
                "generate-image=/api/process-image",
            ]),
            (["generate-image=", "generate-image=/again"], [
                "generate-aplus=/api/process-aplus", "generate-complete-pack=/api/process-complete-pack",
                "generate-image=/again",
            ]),
        ]
        for (overrides, expected) in cases {
            XCTAssertEqual(table(try Routes(overrides: overrides)), expected, "\(overrides)")
        }
    }

    func testMalformedOverridesAreRefused() {
        let cases: [(text: String, hint: String)] = [
            ("generate-image", "must look like TYPE=PATH"),
            ("", "must look like TYPE=PATH"),
            ("generate-image:/api/x", "must look like TYPE=PATH"),
            ("a=api/x", "must be a path starting with / or an http(s) URL"),
            ("a=ftp://x/y", "must be a path starting with / or an http(s) URL"),
            ("a=/api/x y", "must be a path starting with / or an http(s) URL"),
            ("a=/api/x\n", "must be a path starting with / or an http(s) URL"),
            ("a=/api/x\r\nInjected: 1", "must be a path starting with / or an http(s) URL"),
            ("a=b=/x", "must be a path starting with / or an http(s) URL"),
        ]
        for (text, hint) in cases {
            XCTAssertThrowsError(try Routes(overrides: [text]), "'\(text)'") { error in
                let description = String(describing: error)
                XCTAssertTrue(description.contains(hint), description)
            }
        }
    }

    func testBadTypeNamesAreRefused() {
        let types = [
            "", "a b", " a", "a\t", "é", "générer", "a\r\nb", "a\nb", "a\u{0}b", "a\u{7F}", "a\u{85}b",
            String(repeating: "a", count: 201),
        ]
        for type in types {
            XCTAssertThrowsError(try Routes.checkType(type), "'\(type)'")
            XCTAssertThrowsError(try Routes(overrides: ["\(type)=/api/x"]), "'\(type)'") { error in
                XCTAssertTrue(String(describing: error).contains("1-200 printable ASCII characters without spaces"))
            }
            XCTAssertThrowsError(try Routes(overrides: ["\(type)="]), "'\(type)' removal")
        }
    }

    func testGoodTypeNames() {
        for type in ["generate-image", "a", "A.b_c:1/2", "x~y",
                     String(repeating: "a", count: 200)] {
            XCTAssertNoThrow(try Routes.checkType(type), type)
        }
    }
}
