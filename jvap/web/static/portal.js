// Upload progress for forms marked data-progress; without JavaScript the plain form still posts.
"use strict";
(function () {
  function bind(form) {
    var box = form.querySelector(".upload-progress");
    if (!box || !window.FormData || !window.XMLHttpRequest) return;
    form.addEventListener("submit", function (event) {
      var input = form.querySelector("input[type=file]");
      if (!input || !input.files || !input.files.length) return; // let the browser say "required"
      event.preventDefault();
      var bar = box.querySelector("progress");
      var text = box.querySelector("[data-progress-text]");
      var button = form.querySelector("button[type=submit]");
      box.hidden = false;
      bar.value = 0;
      text.textContent = box.dataset.uploading;
      if (button) button.disabled = true;
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) return;
        var percent = Math.round((e.loaded / e.total) * 100);
        bar.value = percent;
        text.textContent = box.dataset.uploading + " " + percent + " %";
      });
      xhr.upload.addEventListener("load", function () {
        bar.value = 100;
        text.textContent = box.dataset.done;
      });
      xhr.addEventListener("load", function () {
        if (xhr.status < 400 && xhr.responseURL) {
          window.location.assign(xhr.responseURL);
          return;
        }
        // The server answered with a page explaining the problem: show it in place.
        var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
        document.title = doc.title;
        document.body.replaceWith(document.adoptNode(doc.body));
        init();
      });
      xhr.addEventListener("error", function () {
        text.textContent = box.dataset.failed;
        if (button) button.disabled = false;
      });
      xhr.send(new FormData(form));
    });
  }
  function init() {
    document.querySelectorAll("form[data-progress]").forEach(bind);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
