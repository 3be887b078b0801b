/// The statements of listen mode: the probe that tells a session from a transaction-mode
/// pooler, and the trigger that wakes listeners when a job becomes due now.
enum ListenQueries {
    /// The listen check's NOTIFY, sent from a second connection. $1 channel, $2 payload.
    /// Concurrency: a notification changes no row; other listeners on the channel ignore a
    /// payload that is not theirs (or treat it as one more reason to claim, which finds nothing).
    static let probe = "SELECT pg_notify($1, $2)"
}
