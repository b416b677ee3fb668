"""The gallery: every uploaded photo with its title and time, newest first."""
from urllib.parse import quote

from _site import esc, photos, respond, shown_time, upload_url


def main():
    items = photos()
    if not items:
        body = """<h1>Gallery</h1>
<p class="empty">No photos yet. <a href="/upload.html">Upload the first one</a>.</p>"""
    else:
        cards = "\n".join(
            """<li><a href="/cgi-bin/view.py?name=%s">
<img src="%s" alt="%s" loading="lazy">
<span class="caption"><span class="title">%s</span><time datetime="%s">%s</time></span>
</a></li>""" % (esc(quote(p["name"])), esc(upload_url(p["name"])), esc(p["title"]), esc(p["title"]),
                esc(p["uploaded_at"]), esc(shown_time(p["uploaded_at"])))
            for p in items)
        count = "1 photo" if len(items) == 1 else "%d photos" % len(items)
        body = """<h1>Gallery</h1>
<p class="lead">%s · <a href="/upload.html">upload another</a></p>
<ul class="gallery">
%s
</ul>""" % (count, cards)
    respond("Gallery", body)


main()
