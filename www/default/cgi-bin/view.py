"""One photo: the image, its title, size and time. ?name=STORED_NAME"""
import os
from urllib.parse import parse_qs

from _site import esc, load_photo, respond, shown_size, shown_time, upload_url


def main():
    query = parse_qs(os.environ.get("QUERY_STRING", ""))
    name = (query.get("name") or [""])[0]
    photo = load_photo(name) if name else None
    if photo is None:
        respond("Not found", """<h1>No such photo</h1>
<p>There is no photo named <code>%s</code>. <a href="/cgi-bin/gallery.py">Back to the gallery</a></p>""" % esc(name),
                status="404 Not Found")
        return
    body = """<p><a href="/cgi-bin/gallery.py">← Back to the gallery</a></p>
<figure class="photo">
<img src="%s" alt="%s">
<figcaption><h1>%s</h1></figcaption>
</figure>
<dl class="facts">
<dt>Uploaded</dt><dd><time datetime="%s">%s</time></dd>
<dt>Size</dt><dd>%s</dd>
<dt>File</dt><dd><code>%s</code></dd>
</dl>""" % (esc(upload_url(photo["name"])), esc(photo["title"]), esc(photo["title"]), esc(photo["uploaded_at"]),
            esc(shown_time(photo["uploaded_at"]) or "unknown"), esc(shown_size(photo["size"])), esc(photo["original_name"]))
    respond(photo["title"], body)


main()
