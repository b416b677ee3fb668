"""Echoes what a GET or POST form sent: the CGI form example.

GET reads the query string, POST reads an application/x-www-form-urlencoded
body from stdin. Everything shown is HTML-escaped: it is user input.
"""
import os
import sys
from urllib.parse import parse_qsl

from _site import esc, respond

MAX_BODY = 64 * 1024


def rows(pairs):
    if not pairs:
        return "<p class=\"meta\">nothing</p>"
    return "<table>%s</table>" % "".join(
        "<tr><th>%s</th><td>%s</td></tr>" % (esc(name), esc(value)) for name, value in pairs)


def main():
    method = os.environ.get("REQUEST_METHOD", "GET")
    query = parse_qsl(os.environ.get("QUERY_STRING", ""), keep_blank_values=True)
    body = []
    if method == "POST":
        kind = os.environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if kind != "application/x-www-form-urlencoded":
            respond("Unsupported form", "<h1>Unsupported form</h1><p>echo.py reads "
                    "<code>application/x-www-form-urlencoded</code> forms.</p>", status="415 Unsupported Media Type")
            return
        data = sys.stdin.buffer.read(MAX_BODY).decode("utf-8", "replace")
        body = parse_qsl(data, keep_blank_values=True)
    respond("Form echo", """<h1>Form echo</h1>
<p>Method: <code>%s</code></p>
<h2>Query string</h2>
%s
<h2>Form body</h2>
%s
<p><a href="/form.html">Back to the form</a></p>""" % (esc(method), rows(query), rows(body)))


main()
