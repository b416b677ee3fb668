// Progressive enhancement of upload.html: a preview of the chosen photo, an
// upload progress bar, and human messages for refusals. Without this script
// the form still posts and the server redirects to the gallery.
(function () {
  "use strict";
  var form = document.getElementById("upload");
  if (!form || !window.FormData || !window.XMLHttpRequest) return;
  var file = document.getElementById("file");
  var preview = document.getElementById("preview");
  var progress = document.getElementById("progress");
  var message = document.getElementById("message");
  var send = document.getElementById("send");
  var maxBytes = Number(form.getAttribute("data-max-bytes")) || 0;
  var previewURL = null;

  function say(text, isError) {
    message.textContent = text;
    message.className = isError ? "message error" : "message";
    message.hidden = false;
  }

  function megabytes(bytes) { return Math.round(bytes / 1048576) + " MB"; }

  file.addEventListener("change", function () {
    message.hidden = true;
    if (previewURL) URL.revokeObjectURL(previewURL);
    var chosen = file.files && file.files[0];
    if (!chosen || !/^image\//.test(chosen.type) || !window.URL) {
      preview.hidden = true;
      return;
    }
    previewURL = URL.createObjectURL(chosen);
    preview.src = previewURL;
    preview.hidden = false;
  });

  form.addEventListener("submit", function (event) {
    var chosen = file.files && file.files[0];
    if (!chosen) return;  // the browser's own "required" message
    event.preventDefault();
    if (chosen.type && !/^image\//.test(chosen.type)) {
      say("That file is not an image. Choose a photo (JPEG, PNG, HEIC…).", true);
      return;
    }
    if (maxBytes && chosen.size > maxBytes) {
      say("That photo is " + megabytes(chosen.size) + ": the limit is " + megabytes(maxBytes) + ".", true);
      return;
    }
    var request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) progress.value = Math.round(100 * e.loaded / e.total);
    });
    request.addEventListener("load", function () {
      send.disabled = false;
      progress.hidden = true;
      // The server answers 303 to the gallery, which XHR follows.
      if (request.status >= 200 && request.status < 300) {
        say("Uploaded. Opening the gallery…", false);
        window.location.href = request.responseURL || "/cgi-bin/gallery.py";
      } else if (request.status === 413) {
        say("That photo is too large for the server (the limit is " + megabytes(maxBytes) + ").", true);
      } else if (request.status === 415) {
        say("The server only takes images. Choose a photo.", true);
      } else {
        say("The upload failed (" + request.status + " " + request.statusText + "). Try again.", true);
      }
    });
    request.addEventListener("error", function () {
      send.disabled = false;
      progress.hidden = true;
      say("The connection failed during the upload. Check your network and try again.", true);
    });
    send.disabled = true;
    progress.value = 0;
    progress.hidden = false;
    say("Uploading…", false);
    request.send(new FormData(form));
  });
})();
