/// --route-rate, --route-burst and --route-concurrency as the limits a claim applies per route.
enum FlowFlags {
    static func limits(rates: [String], bursts: [String], concurrency: [String: Int],
                       routes: Routes) throws(ConfigError) -> [String: RouteLimits] {
        var limits: [String: RouteLimits] = [:]
        for (type, limit) in concurrency { limits[type, default: RouteLimits()].concurrency = limit }
        for text in rates {
            let (type, rate) = try self.rate(text)
            guard routes.target(for: type) != nil else { throw .usage("--route-rate \(type): no such route") }
            limits[type, default: RouteLimits()].rate = rate
        }
        for text in bursts {
            let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, let burst = Int(parts[1]), burst >= 1 else {
                throw .usage("--route-burst '\(text)' must look like TYPE=B with B at least 1")
            }
            guard limits[parts[0]]?.rate != nil else {
                throw .usage("--route-burst \(parts[0]): no --route-rate for \(parts[0]) (a burst is part of a rate)")
            }
            limits[parts[0]]?.rate?.burst = burst
        }
        return limits
    }

    /// "TYPE=N/DURATION", e.g. generate-image=30/1m.
    static func rate(_ text: String) throws(ConfigError) -> (type: String, rate: RouteRate) {
        let shape = "--route-rate '\(text)' must look like TYPE=N/DURATION (e.g. generate-image=30/1m) with N at least 1"
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty else { throw .usage(shape) }
        let value = parts[1].split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard value.count == 2, let count = Int(value[0]), count >= 1 else { throw .usage(shape) }
        let period: Double
        do { period = try DurationText.seconds(value[1]) } catch { throw .usage("--route-rate \(parts[0]): \(error.description)") }
        guard period > 0 else { throw .usage("--route-rate \(parts[0]): the duration must be greater than zero") }
        return (parts[0], RouteRate(count: count, period: period))
    }
}
