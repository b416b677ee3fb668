"""The seed's template script (an `output: body` route): everything printed
is the page. It fills `@out` in an HTML template with ?name=…, escaped."""
import html
import os
from urllib.parse import parse_qs

TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Template — swerve</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<header class="site"><a class="brand" href="/">swerve</a></header>
<main>
<h1>Hello, @out!</h1>
<p class="lead">This page is a template: <code>template/hello.py</code> replaced
<code>@out</code> and printed the result. Try <a href="?name=swerve">?name=swerve</a>.</p>
</main>
</body>
</html>"""

name = (parse_qs(os.environ.get("QUERY_STRING", "")).get("name") or ["world"])[0]
print(TEMPLATE.replace("@out", html.escape(name)))
