// The clerk's page: drag-and-drop onto the file box, the print button, focus on the result.
// The page works without this file; nothing here builds markup from strings.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const zone = document.getElementById("drop-zone");
  const input = document.getElementById("file");
  const shown = document.getElementById("dropped");
  const show = () => {
    shown.textContent = input.files.length ? shown.dataset.prefix + input.files[0].name : "";
  };
  if (zone && input) {
    input.addEventListener("change", show);
    ["dragenter", "dragover"].forEach((type) =>
      zone.addEventListener(type, (event) => {
        event.preventDefault();
        zone.classList.add("dragging");
      }),
    );
    ["dragleave", "drop"].forEach((type) =>
      zone.addEventListener(type, () => zone.classList.remove("dragging")),
    );
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
        show();
      }
    });
  }
  const print = document.getElementById("print");
  if (print) print.addEventListener("click", () => window.print());
  const title = document.getElementById("result-title");
  if (title) title.focus();
});
