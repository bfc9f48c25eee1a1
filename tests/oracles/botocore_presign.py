"""botocore as the SigV4 oracle for the sign function (`cargo xtask test`).

Reads a JSON list of cases on stdin and prints, for each, the URL botocore's S3SigV4QueryAuth
presigns at the case's frozen time (or, for a case of kind "post", the form fields its
S3SigV4PostAuth signs). A case: method, url (scheme://host/path, the path already
encoded as the caller wants it signed: botocore signs the path exactly as given), query (a list
of [name, value], unencoded), headers (a list of [name, value] to sign besides host), region,
access_key, secret_key, token (or null), expires, time (Unix seconds).
"""

import datetime
import json
import sys
from unittest import mock

import botocore
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def presign(case):
    creds = Credentials(case["access_key"], case["secret_key"], case.get("token"))
    signer = botocore.auth.S3SigV4QueryAuth(creds, "s3", case["region"], expires=case["expires"])
    request = AWSRequest(method=case["method"], url=case["url"], params=dict(case.get("query", [])))
    for name, value in case.get("headers", []):
        request.headers[name] = value
    frozen = datetime.datetime.fromtimestamp(case["time"], datetime.timezone.utc).replace(tzinfo=None)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=frozen):
        signer.add_auth(request)
    return request.url


def presign_post(case):
    """A POST policy: expiration and the caller's conditions and fields; botocore's
    S3SigV4PostAuth adds its own and signs. Returns the fields, in order, as [name, value]."""
    creds = Credentials(case["access_key"], case["secret_key"], case.get("token"))
    signer = botocore.auth.S3SigV4PostAuth(creds, "s3", case["region"])
    request = AWSRequest(method="POST", url="http://unused/")
    request.context["s3-presign-post-fields"] = dict(case["fields"])
    request.context["s3-presign-post-policy"] = {
        "expiration": case["expiration"],
        "conditions": case["conditions"],
    }
    frozen = datetime.datetime.fromtimestamp(case["time"], datetime.timezone.utc).replace(tzinfo=None)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=frozen):
        signer.add_auth(request)
    return list(request.context["s3-presign-post-fields"].items())


def main():
    cases = json.load(sys.stdin)
    out = [presign_post(c) if c.get("kind") == "post" else presign(c) for c in cases]
    json.dump({"botocore": botocore.__version__, "urls": out}, sys.stdout)


if __name__ == "__main__":
    main()
