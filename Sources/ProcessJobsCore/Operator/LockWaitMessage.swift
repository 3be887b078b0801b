/// The one line `migrate` ends with when the table lock was not granted in time: what held it
/// and what to do.
public enum LockWaitMessage {
    public static func text(_ holders: [LockHolder], waited: String) -> String {
        var line = "migrate waited \(waited) for a lock on job_queue and gave up; nothing was changed. "
        if holders.isEmpty {
            line += "The session that held it has ended"
        } else {
            line += "Held by " + holders.map(describe).joined(separator: "; ")
        }
        let pid = holders.first?.pid ?? "<pid>"
        return line + ". Run migrate again once that is done, or end it with select pg_terminate_backend(\(pid))"
    }

    static func describe(_ holder: LockHolder) -> String {
        var parts = ["pid \(holder.pid)"]
        if !holder.user.isEmpty { parts.append("user \(TerminalText.escaped(holder.user))") }
        if !holder.application.isEmpty { parts.append("application \(TerminalText.escaped(holder.application))") }
        var state = holder.state.isEmpty ? "" : holder.state
        if holder.seconds.isFinite && holder.seconds >= 1 {
            state += (state.isEmpty ? "" : " ") + "for " + TimeText.age(holder.seconds)
        }
        if !state.isEmpty { parts.append(state) }
        let query = oneLine(holder.query)
        return parts.joined(separator: ", ") + (query.isEmpty ? "" : ": \(query)")
    }

    /// A query on one line: runs of whitespace as one space, other controls escaped, at most 120 characters.
    static func oneLine(_ query: String) -> String {
        let words = query.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" })
        let flat = TerminalText.escaped(words.joined(separator: " "))
        return flat.count > 120 ? String(flat.prefix(119)) + "…" : flat
    }
}
