/// The timer's invocations, which skip the argument parser: `process-jobs run` as the systemd
/// unit starts it, with nothing more or with what a table profile's unit adds (docs/profiles.md):
/// `--table-profile FILE`, `--route TYPE=URL` and `--route-token TYPE=FILE`, each value checked
/// later as after a parse. Every other option takes its default. Anything else (another option,
/// a missing or dash-led value, a second profile) is nil: the parser takes it, with its usage
/// errors.
enum TimerInvocation {
    static func request(_ arguments: [String]) -> RunRequest? {
        var rest = arguments[...]
        if rest.first == "run" { rest = rest.dropFirst() }
        var request = RunRequest()
        while let argument = rest.popFirst() {
            let name: Substring, value: String
            if let equals = argument.firstIndex(of: "=") {
                name = argument[..<equals]
                value = String(argument[argument.index(after: equals)...])
            } else {
                guard let next = rest.popFirst() else { return nil }
                name = argument[...]
                value = next
            }
            guard !value.isEmpty, !value.hasPrefix("-") else { return nil }
            switch name {
            case "--table-profile" where request.tableProfile == nil: request.tableProfile = value
            case "--route": request.flags.routes.append(value)
            case "--route-token": request.flags.routeTokens.append(value)
            default: return nil
            }
        }
        return request
    }
}
