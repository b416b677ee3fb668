"""Shared by the demo's CGI scripts: the page layout and the photo store.

Run directly (GET /cgi-bin/_site.py) it only answers 404: it is a module.
Standard library only.
"""
import html
import json
import os
import sys
from urllib.parse import quote

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".heic", ".heif", ".bmp"}


def esc(text):
    """Everything shown comes from users (titles, names): always escaped."""
    return html.escape(str(text), quote=True)


def respond(title, body, status=None):
    """Writes a whole HTML page with its CGI header block."""
    page = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%s — swerve</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<header class="site">
  <a class="brand" href="/">swerve</a>
  <nav><a href="/cgi-bin/gallery.py">Gallery</a> <a href="/upload.html">Upload</a></nav>
</header>
<main>
%s
</main>
</body>
</html>
""" % (esc(title), body)
    data = page.encode("utf-8")
    out = sys.stdout.buffer
    if status:
        out.write(("Status: %s\r\n" % status).encode("ascii"))
    out.write(b"Content-Type: text/html; charset=utf-8\r\n")
    out.write(("Content-Length: %d\r\n\r\n" % len(data)).encode("ascii"))
    out.write(data)
    out.flush()


def upload_dir():
    """Where the upload route stores photos: $UPLOAD_DIR, else the site's uploads/."""
    return os.environ.get("UPLOAD_DIR") or os.path.join(os.environ.get("DOCUMENT_ROOT", "."), "uploads")


def upload_url(name):
    return "/uploads/" + quote(name)


def is_photo_name(name):
    """A stored file's own name: no folders, no dotfiles, an image extension."""
    return (name == os.path.basename(name) and not name.startswith(".") and "\0" not in name
            and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS)


def load_photo(name, folder=None):
    """The photo `name` with what its sidecar (.meta/NAME.json) says, or None."""
    folder = folder or upload_dir()
    if not is_photo_name(name):
        return None
    path = os.path.join(folder, name)
    try:
        info = os.stat(path)
    except OSError:
        return None
    meta = {}
    try:
        with open(os.path.join(folder, ".meta", name + ".json"), encoding="utf-8") as sidecar:
            meta = json.load(sidecar)
    except (OSError, ValueError, RecursionError):
        pass
    if not isinstance(meta, dict):  # a sidecar is ours, but never trust a file
        meta = {}
    fields = meta.get("fields") if isinstance(meta.get("fields"), dict) else {}
    title = fields.get("title") if isinstance(fields.get("title"), str) else ""
    uploaded = meta.get("uploaded_at") if isinstance(meta.get("uploaded_at"), str) else ""
    return {
        "name": name,
        "title": title.strip() or os.path.splitext(name)[0],
        "uploaded_at": uploaded,
        "size": info.st_size,
        "content_type": meta.get("content_type") if isinstance(meta.get("content_type"), str) else "",
        "original_name": meta.get("original_name") if isinstance(meta.get("original_name"), str) else name,
        # Newest first; photos of the same second by their files' time.
        "sort_key": (uploaded, info.st_mtime_ns),
    }


def photos():
    """Every stored photo, newest first."""
    folder = upload_dir()
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    found = [load_photo(name, folder) for name in names if is_photo_name(name)]
    return sorted((p for p in found if p), key=lambda p: (p["sort_key"], p["name"]), reverse=True)


def shown_time(iso):
    """2026-11-24T19:13:18Z → 2026-11-24 19:13 UTC."""
    if len(iso) >= 16 and iso[10] == "T":
        return iso[:10] + " " + iso[11:16] + " UTC"
    return iso


def shown_size(size):
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return ("%d %s" % (size, unit)) if unit == "bytes" else ("%.1f %s" % (size, unit))
        size /= 1024.0


if __name__ == "__main__":
    respond("Not found", "<h1>Not found</h1>", status="404 Not Found")
