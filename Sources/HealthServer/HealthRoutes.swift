/// What the health server answers, decided without any I/O: GET (or HEAD) /metrics is the
/// Prometheus text, /healthz 200 or 503 as `health` says, any other path 404, any other
/// method 405. The closures run on the server's thread, so they must be safe to call from it.
public struct HealthRoutes: Sendable {
    /// Whether the process is doing its work, and a short word on it for the body.
    public struct Health: Equatable, Sendable {
        public let healthy: Bool
        public let detail: String

        public init(healthy: Bool, detail: String) {
            self.healthy = healthy
            self.detail = detail
        }
    }

    public struct Response: Equatable, Sendable {
        public let status: Int
        public let contentType: String
        public let body: String
    }

    /// Prometheus' text exposition format, version 0.0.4.
    public static let metricsType = "text/plain; version=0.0.4; charset=utf-8"
    static let textType = "text/plain; charset=utf-8"

    private let metrics: @Sendable () -> String
    private let health: @Sendable () -> Health

    public init(metrics: @escaping @Sendable () -> String, health: @escaping @Sendable () -> Health) {
        self.metrics = metrics
        self.health = health
    }

    public func respond(method: String, path: String) -> Response {
        guard path == "/metrics" || path == "/healthz" else {
            return Response(status: 404, contentType: Self.textType, body: "not found: /metrics and /healthz are served\n")
        }
        guard method == "GET" || method == "HEAD" else {
            return Response(status: 405, contentType: Self.textType, body: "method not allowed: GET or HEAD\n")
        }
        if path == "/metrics" { return Response(status: 200, contentType: Self.metricsType, body: metrics()) }
        let state = health()
        return Response(status: state.healthy ? 200 : 503, contentType: Self.textType,
                        body: (state.healthy ? "ok: " : "unhealthy: ") + state.detail + "\n")
    }
}
