window.addEventListener("error", function (ev) {
  var pre = document.getElementById("errors");
  var msg = (ev && ev.message ? ev.message : String(ev)) + (ev && ev.lineno ? " (line " + ev.lineno + ")" : "");
  if (pre) { pre.textContent += msg + "\n"; } else { (window.__cnntopoErrors = window.__cnntopoErrors || []).push(msg); }
});
