#!/usr/bin/env python3
"""Echoes what a GET or POST form sent: the CGI form example.

GET reads the query string, POST reads an application/x-www-form-urlencoded
body from stdin. Everything shown is HTML-escaped: it is user input.
"""
import html
import os
import sys
from urllib.parse import parse_qsl

MAX_BODY = 64 * 1024


def fields(text):
    return parse_qsl(text, keep_blank_values=True)


def rows(pairs):
    if not pairs:
        return "<p class=empty>nothing</p>"
    cells = "".join(
        "<tr><th>%s</th><td>%s</td></tr>" % (html.escape(name), html.escape(value))
        for name, value in pairs
    )
    return "<table>%s</table>" % cells


def main():
    method = os.environ.get("REQUEST_METHOD", "GET")
    query = fields(os.environ.get("QUERY_STRING", ""))
    body = []
    if method == "POST":
        kind = os.environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if kind != "application/x-www-form-urlencoded":
            sys.stdout.write("Status: 415 Unsupported Media Type\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                             "echo.py reads application/x-www-form-urlencoded forms\n")
            return
        data = sys.stdin.buffer.read(MAX_BODY)
        body = fields(data.decode("utf-8", "replace"))

    page = """<!doctype html>
<html lang=en>
<head>
<meta charset=utf-8>
<meta name=viewport content="width=device-width, initial-scale=1">
<title>Form echo</title>
<link rel=stylesheet href=/style.css>
</head>
<body>
<main>
<h1>Form echo</h1>
<p>Method: <code>%s</code></p>
<h2>Query string</h2>
%s
<h2>Form body</h2>
%s
<p><a href=/form.html>Back to the form</a> · <a href=/>Home</a></p>
</main>
</body>
</html>
""" % (html.escape(method), rows(query), rows(body))
    sys.stdout.write("Content-Type: text/html; charset=utf-8\r\n\r\n")
    sys.stdout.write(page)


main()
