import Foundation
import XCTest

/// nginx serving HTTP/2 over TLS on a free loopback port, with a private CA (the test app
/// speaks HTTP/1.1 only). Its access log line per request: `$connection $request_method
/// $request_uri $server_protocol $status`. Stopped and removed by `stop()`.
final class Nginx {
    let directory: String
    let port: Int
    private let child: Child
    var caFile: String { directory + "/ca.crt" }
    var url: String { "https://localhost:\(port)" }

    init() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/nginx") else {
            throw XCTSkip("nginx is not installed (Debian package nginx-light; scripts/setup installs it)")
        }
        directory = NSTemporaryDirectory() + "pj-nginx-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Nginx.makeCertificates(in: directory)
        port = Fault.freePort()
        try """
            daemon off;
            master_process off;
            pid \(directory)/nginx.pid;
            error_log \(directory)/error.log;
            events { worker_connections 64; }
            http {
                log_format protocol '$connection $request_method $request_uri $server_protocol $status';
                access_log \(directory)/access.log protocol;
                client_body_temp_path \(directory)/body;
                server {
                    listen 127.0.0.1:\(port) ssl http2;
                    ssl_certificate \(directory)/server.crt;
                    ssl_certificate_key \(directory)/server.key;
                    location / {
                        default_type application/json;
                        return 200 '{"success":true,"via":"nginx"}';
                    }
                }
            }
            """.write(toFile: directory + "/nginx.conf", atomically: true, encoding: .utf8)
        child = try Child("/usr/sbin/nginx", ["-c", directory + "/nginx.conf", "-p", directory, "-e", directory + "/error.log"],
                          environment: binaryEnvironment([:]))
        awaitCondition("nginx to listen", timeout: 20) {
            !child.isRunning || (try? String(contentsOfFile: directory + "/nginx.pid", encoding: .utf8)) != nil
        }
        XCTAssertTrue(child.isRunning, (try? String(contentsOfFile: directory + "/error.log", encoding: .utf8)) ?? "")
    }

    deinit { stop() }

    func stop() {
        if child.isRunning {
            child.signal(SIGQUIT)
            _ = child.wait(timeout: 10)
        }
        child.cleanUp()
        try? FileManager.default.removeItem(atPath: directory)
    }

    var accessLog: String { (try? String(contentsOfFile: directory + "/access.log", encoding: .utf8)) ?? "" }

    /// A CA and a certificate for localhost and 127.0.0.1 signed by it.
    private static func makeCertificates(in directory: String) throws {
        let steps: [[String]] = [
            ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
             "-subj", "/CN=process-jobs test CA", "-keyout", "ca.key", "-out", "ca.crt",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"],
            ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=localhost",
             "-keyout", "server.key", "-out", "server.csr"],
            ["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
             "-out", "server.crt", "-extfile", "san.ext"],
        ]
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\n".write(toFile: directory + "/san.ext", atomically: true, encoding: .utf8)
        for arguments in steps {
            let result = try shell("/bin/sh", ["-c", "cd \"$0\" && exec openssl \"$@\"", directory] + arguments, timeout: 30)
            guard result.status == 0 else { throw XCTSkip("openssl \(arguments[0]) failed: \(result.stderr)") }
        }
    }
}
