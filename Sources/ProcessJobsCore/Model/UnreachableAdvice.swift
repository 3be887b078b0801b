/// What the operator should do when requests could not be sent, read from the transport's
/// message for the last failure ("… (curl N)"): a certificate problem is not fixed by starting
/// the app, nor a proxy's refusal by fixing the app URL.
public enum UnreachableAdvice {
    public static func advice(for error: String) -> String {
        let code = curlCode(error)
        if error.contains("the proxy ") || code.map(proxyCodes.contains) == true {
            return "fix the proxy settings (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) or the proxy's access rules"
        }
        if code.map(tlsCodes.contains) == true {
            return "check the app's TLS certificate; if a private CA signed it, set CURL_CA_BUNDLE to that CA's certificate file"
        }
        return "start the app or fix the app URL"
    }

    /// libcurl's codes for a proxy it could not use: resolve (5), handshake (97).
    static let proxyCodes: Set<Int> = [5, 97]
    /// libcurl's codes for TLS and certificate failures: connect (35), certificate or key (51, 53,
    /// 54, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91, 98).
    static let tlsCodes: Set<Int> = [35, 51, 53, 54, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91, 98]

    static func curlCode(_ error: String) -> Int? {
        guard let start = error.ranges(of: "(curl ").last, error.hasSuffix(")") else { return nil }
        return Int(error[start.upperBound..<error.index(before: error.endIndex)])
    }
}
