/// Whether notifications reach the listening connection, decided at each connect: LISTEN, then
/// a NOTIFY with a random payload from a second, short-lived connection while the listener sends
/// nothing; it must arrive within `wait`. A transaction-mode pooler (PgBouncer, Supavisor on
/// 6543) hands the LISTEN to some server connection and puts it back in the pool, so the
/// notification never reaches this client. The NOTIFY does not go out on the listening
/// connection itself: with few clients a pooler hands that statement the same server connection,
/// the notification rides back with its answer, and the check would pass behind the pooler.
public enum PoolerCheck {
    /// How long the probe notification may take; it arrives in milliseconds on a session.
    public static let wait = 5.0

    /// What every probe's payload starts with: listeners do not count these as jobs.
    public static let payloadPrefix = "process-jobs listen check "

    /// The payload of one probe: random, so a probe never takes another listener's for its own.
    public static func payload(random: UInt64) -> String {
        payloadPrefix + String(random, radix: 16)
    }

    /// The one-line error (exit 78) when the probe did not come back within `waited`, or the
    /// check could not be made (fail closed: a listener that hears nothing would only run on
    /// the backstop poll).
    public static func error(source: String, waited: Double = wait) -> ConfigError {
        error(source: source, finding: "a notification sent through \(source) did not come back within \(DurationText.format(waited))")
    }

    /// The same error when the connection refused LISTEN itself (`message`: the server's or pooler's reason).
    public static func refused(source: String, message: String) -> ConfigError {
        error(source: source, finding: "\(source) refused LISTEN (\(message))")
    }

    private static func error(source: String, finding: String) -> ConfigError {
        .configuration("--listen needs a session connection, but \(finding) (a transaction-mode pooler such as PgBouncer or Supavisor on port 6543?): use the direct or session-mode connection for --listen, or give --listen-database-url (or \(ListenDatabaseURL.environmentName)) a separate session connection for listening while claims go through the pooler")
    }
}
