#!/usr/bin/env python3
"""One HTTP request for the envflow serve suites, with the standard library only.

    serve_http.py METHOD URL [-H 'Name: value']... [-d BODY]

Prints the status code on the first line, then the response body. Sends no
header of its own beyond what urllib needs (no Origin: not a browser)."""
import sys
import urllib.error
import urllib.request


def main(argv):
    method, url = argv[1], argv[2]
    headers, body, i = {}, None, 3
    while i < len(argv):
        if argv[i] == "-H":
            name, _, value = argv[i + 1].partition(":")
            headers[name.strip()] = value.strip()
        elif argv[i] == "-d":
            body = argv[i + 1].encode()
        i += 2
    if method == "POST" and body is None:
        body = b""
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            code, text = response.status, response.read()
    except urllib.error.HTTPError as error:
        code, text = error.code, error.read()
    sys.stdout.write(str(code) + "\n")
    sys.stdout.write(text.decode("utf-8", "replace"))


main(sys.argv)
