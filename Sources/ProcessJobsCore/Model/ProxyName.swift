/// The proxy libcurl took from the environment for a URL, as it may be printed (credentials
/// redacted): `http_proxy` for http (lower case only, as libcurl reads it), `https_proxy` or
/// `HTTPS_PROXY` for https, then `all_proxy` or `ALL_PROXY`.
public enum ProxyName {
    public static func forURL(_ url: String, environment: (String) -> String?) -> String {
        let scheme = url.prefix { $0 != ":" }.lowercased()
        let names = (scheme == "http" ? ["http_proxy"] : ["\(scheme)_proxy", "\(scheme.uppercased())_PROXY"]) + ["all_proxy", "ALL_PROXY"]
        for name in names {
            if let value = environment(name), !value.isEmpty {
                return RedactedURL.text(value)
            }
        }
        return "(from the environment)"
    }
}
