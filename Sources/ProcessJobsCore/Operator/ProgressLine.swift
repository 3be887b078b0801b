/// The live one-line progress of a run on a terminal: counts so far and the rate.
public enum ProgressLine {
    /// "claimed 120, done 100, retried 3, failed 1, in flight 16, 47 jobs/s, 2.2s", at most
    /// `width` characters (a wrapped line could not be cleared in place): when it is too long,
    /// whole parts go, least useful first, rather than a number being cut.
    public static func text(_ progress: RunProgress, elapsed: Double, width: Int = 200) -> String {
        let finished = progress.completed + progress.retried + progress.failed
        let rate = elapsed > 0 ? Double(finished) / elapsed : 0
        let rateText = rate >= 10 ? String(Int(rate.rounded())) : NumberText.fixed(rate, decimals: 1)
        // (text, drop order: higher goes first; 0 never)
        var parts: [(text: String, drop: Int)] = [
            ("claimed \(progress.claimed)", 0), ("done \(progress.completed)", 0), ("retried \(progress.retried)", 2),
            ("failed \(progress.failed)", 0),
        ]
        if progress.released > 0 { parts.append(("released \(progress.released)", 4)) }
        parts += [("in flight \(progress.inFlight)", 5), ("\(rateText) jobs/s", 1), (DurationText.format(elapsed), 3)]
        var line = parts.map(\.text).joined(separator: ", ")
        while line.count > width, let worst = parts.indices.filter({ parts[$0].drop > 0 }).max(by: { parts[$0].drop < parts[$1].drop }) {
            parts.remove(at: worst)
            line = parts.map(\.text).joined(separator: ", ")
        }
        return line.count > width ? String(line.prefix(max(0, width))) : line
    }
}
