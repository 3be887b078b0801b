import CLibCrypto

/// The Standard Webhooks signature: HMAC-SHA256 over "id.timestamp.body" with each key,
/// computed by OpenSSL's libcrypto (already linked through libpq), never by hand.
public enum Signature {
    /// The webhook-signature header's value: "v1,<base64 MAC>" per key, separated by spaces,
    /// so an app that knows any one of the keys (during a rotation) verifies the request.
    public static func header(id: String, timestamp: Int, body: String, keys: [[UInt8]]) -> String {
        keys.map { "v1," + Base64.encode(hmacSHA256(key: $0, parts: ["\(id).\(timestamp).", body])) }.joined(separator: " ")
    }

    /// The MAC of the parts in order, fed to libcrypto one after another: a body of megabytes is
    /// read where it is, never copied to be signed.
    static func hmacSHA256(key: [UInt8], parts: [String]) -> [UInt8] {
        let mac = EVP_MAC_fetch(nil, "HMAC", nil)
        let context = EVP_MAC_CTX_new(mac)
        defer {
            EVP_MAC_CTX_free(context)
            EVP_MAC_free(mac)
        }
        var ok = context != nil
        ok = ok && "SHA256".withCString { digest in
            var parameters = [OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, UnsafeMutablePointer(mutating: digest), 0),
                              OSSL_PARAM_construct_end()]
            return key.withUnsafeBufferPointer { EVP_MAC_init(context, $0.baseAddress, $0.count, &parameters) == 1 }
        }
        for var part in parts where ok {
            ok = part.withUTF8 { EVP_MAC_update(context, $0.baseAddress, $0.count) == 1 }
        }
        var out = [UInt8](repeating: 0, count: 32)
        var length = 0
        ok = ok && EVP_MAC_final(context, &out, &length, out.count) == 1
        // Fails only without memory or with a broken libcrypto: signing nothing would send
        // requests the app must refuse, so stop loudly instead.
        precondition(ok && length == 32, "libcrypto's HMAC-SHA256 failed")
        return out
    }
}
