"""An independent GOOG4-HMAC-SHA256 signer, the second opinion on the sign function's GCS V4
URLs (`cargo xtask test`).

No library signs GCS V4 URLs with HMAC keys (google-cloud-storage signs with service-account
keys only), so this follows Google's documented algorithm ("V4 signing process with your own
program": canonical request, string to sign, the GOOG4 key chain) with the standard library
alone, written from the documentation and not from our Rust code. It encodes the key itself
(urllib's quote, RFC 3986 unreserved kept), so the path encoding is checked too.

Reads a JSON list of cases on stdin: method, scheme, host, bucket, key, style ("path" or
"virtual"), region, access_key, secret_key, expires, time (Unix seconds), query (a list of
[name, value], unencoded), headers (a list of [name, value] to sign besides host). Prints
{"urls": [...]} in order.
"""

import datetime
import hashlib
import hmac
import json
import sys
from urllib.parse import quote


def enc(text, safe=""):
    return quote(text, safe=safe + "~")


def sign(case):
    stamp = datetime.datetime.fromtimestamp(case["time"], datetime.timezone.utc)
    datetime_ = stamp.strftime("%Y%m%dT%H%M%SZ")
    date = stamp.strftime("%Y%m%d")
    if case["style"] == "virtual":
        host = f'{case["bucket"]}.{case["host"]}'
        path = "/" + enc(case["key"], "/")
    else:
        host = case["host"]
        path = "/" + enc(case["bucket"]) + "/" + enc(case["key"], "/")
    headers = {name.lower(): " ".join(value.split()) for name, value in case.get("headers", [])}
    headers["host"] = host
    signed_headers = ";".join(sorted(headers))
    scope = f'{date}/{case["region"]}/storage/goog4_request'
    params = list(case.get("query", [])) + [
        ("X-Goog-Algorithm", "GOOG4-HMAC-SHA256"),
        ("X-Goog-Credential", f'{case["access_key"]}/{scope}'),
        ("X-Goog-Date", datetime_),
        ("X-Goog-Expires", str(case["expires"])),
        ("X-Goog-SignedHeaders", signed_headers),
    ]
    encoded = [(enc(k), enc(v)) for k, v in params]
    canonical_query = "&".join(f"{k}={v}" for k, v in sorted(encoded))
    canonical_headers = "".join(f"{k}:{headers[k]}\n" for k in sorted(headers))
    canonical = "\n".join(
        [case["method"], path, canonical_query, canonical_headers, signed_headers, "UNSIGNED-PAYLOAD"]
    )
    to_sign = "\n".join(
        ["GOOG4-HMAC-SHA256", datetime_, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = ("GOOG4" + case["secret_key"]).encode()
    for part in (date, case["region"], "storage", "goog4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    query = "&".join(f"{k}={v}" for k, v in encoded)
    return f'{case["scheme"]}://{host}{path}?{query}&X-Goog-Signature={signature}'


def main():
    json.dump({"urls": [sign(c) for c in json.load(sys.stdin)]}, sys.stdout)


if __name__ == "__main__":
    main()
