// Progressive enhancement of the receipt page: a copy button, and the picture as PNG (phones
// save PNG to the photo album; the SVG link stays for browsers without canvas).
(function () {
  var box = document.getElementById("receipt-tools");
  var code = document.getElementById("receipt-code");
  if (!box || !code) return;
  var text = code.textContent.trim();
  if (navigator.clipboard && window.isSecureContext !== false) {
    var button = document.createElement("button");
    button.type = "button";
    button.id = "copy-receipt";
    button.textContent = box.dataset.copy;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(text).then(function () {
        button.textContent = box.dataset.copied;
        button.setAttribute("data-copied", "1");
      });
    });
    box.insertBefore(button, box.firstChild);
  }
  var link = document.getElementById("save-image");
  if (!link || !window.HTMLCanvasElement) return;
  var picture = new Image();
  picture.onload = function () {
    var canvas = document.createElement("canvas");
    canvas.width = picture.width || 720;
    canvas.height = picture.height || 240;
    canvas.getContext("2d").drawImage(picture, 0, 0);
    try {
      link.href = canvas.toDataURL("image/png");
      link.download = link.download.replace(/\.svg$/, ".png");
      link.setAttribute("data-format", "png");
    } catch (e) { /* keep the SVG */ }
  };
  picture.src = link.href;
})();
