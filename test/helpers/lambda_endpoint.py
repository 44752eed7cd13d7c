"""A local stand-in for the Lambda Invoke API and STS AssumeRole that checks
every request's SigV4 signature with botocore's signer (an implementation
independent of the gateway's aws4), then plays the Lambda function.

    python3 lambda_endpoint.py ACCESS_KEY SECRET_KEY
prints the port it listens on (127.0.0.1), then serves until killed.

STS: POST / with Action=AssumeRole, signed for service sts with the keys
given, answers temporary keys; from then on Lambda calls may be signed with
those (and must carry their session token). Lambda: POST
/2015-03-31/functions/NAME/invocations, signed for service lambda; the
function answers a proxy response echoing the event, or plays an error.
"""
import base64
import hmac
import json
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ACCESS, SECRET = sys.argv[1], sys.argv[2]
TEMP = {"access": "ASIATEMPORARYKEY0001", "secret": "temporary/secret/key/for/the/role/000000", "token": "temporary-session-token-abc"}
assumed = {"done": False}


def verify(handler, body):
    """Recomputes the signature with botocore from the signed headers; returns (ok, service, why)."""
    auth = handler.headers.get("Authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return False, None, "no SigV4 Authorization"
    parts = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
    access, date, region, service, _ = parts["Credential"].split("/")
    signed = parts["SignedHeaders"].split(";")
    if access == ACCESS:
        secret, token = SECRET, None
    elif access == TEMP["access"] and assumed["done"]:
        secret, token = TEMP["secret"], TEMP["token"]
        if handler.headers.get("X-Amz-Security-Token") != token:
            return False, service, "temporary keys without their session token"
    else:
        return False, service, "unknown access key"
    headers = {name: handler.headers.get(name) for name in signed}
    if None in headers.values():
        return False, service, "a signed header is missing"
    url = "http://%s%s" % (handler.headers.get("Host"), handler.path)
    request = AWSRequest(method=handler.command, url=url, data=body, headers=headers)
    request.context["timestamp"] = handler.headers.get("X-Amz-Date")
    signer = SigV4Auth(Credentials(access, secret, token), service, region)
    # botocore signs what it would sign: the same header set, canonicalized its own way.
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if signer.signed_headers(signer.headers_to_sign(request)) != parts["SignedHeaders"]:
        return False, service, "signed header lists differ"
    if not hmac.compare_digest(expected, parts["Signature"]):
        return False, service, "signature mismatch"
    return True, service, None


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body, headers=None):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        ok, service, why = verify(self, body)
        if not ok:
            return self.answer(403, json.dumps({"Type": "User", "message": "The request signature we calculated does not match: " + why}), {"X-Amzn-ErrorType": "InvalidSignatureException"})
        if service == "sts":
            form = urllib.parse.parse_qs(body.decode())
            if form.get("Action") != ["AssumeRole"]:
                return self.answer(400, "<Error><Code>InvalidAction</Code></Error>")
            assumed["done"] = True
            xml = ("<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey>"
                   "<SessionToken>%s</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>") % (TEMP["access"], TEMP["secret"], TEMP["token"])
            return self.answer(200, xml, {"Content-Type": "text/xml"})
        name = urllib.parse.unquote(self.path.split("/functions/")[1].split("/")[0])
        event = json.loads(body)
        path = event.get("rawPath") or event.get("path")
        signer_key = self.headers.get("Authorization").split("Credential=")[1].split("/")[0]
        if path.endswith("/crash"):
            return self.answer(200, json.dumps({"errorType": "Error", "errorMessage": "boom"}), {"X-Amz-Function-Error": "Unhandled"})
        if path.endswith("/binary"):
            raw = base64.b64decode(event["body"]) if event.get("isBase64Encoded") else (event.get("body") or "").encode()
            return self.answer(200, json.dumps({"statusCode": 200, "headers": {"content-type": "application/octet-stream"}, "isBase64Encoded": True, "body": base64.b64encode(bytes(reversed(raw))).decode()}))
        if path.endswith("/plain"):
            return self.answer(200, json.dumps({"just": "a value"}))
        result = {"statusCode": 201, "headers": {"content-type": "application/json", "x-function": name},
                  "multiValueHeaders": {"set-cookie": ["a=1", "b=2"]},
                  "body": json.dumps({"event": event, "signedWith": signer_key})}
        return self.answer(200, json.dumps(result))


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
