/* swflow form pages: show-if applied as the worker types, table rows added and removed in place.
   Without this file the page still works: every field is shown (with its condition in words), a
   blank row is always there, 「添加一行」 saves a draft and reloads, 「删除此行」 is a checkbox. */
(function () {
  "use strict";

  function scopeOf(el) { return el.parentElement ? el.parentElement.closest("[data-scope]") : null; }

  function valuesOf(scope, name) {
    var out = [];
    scope.querySelectorAll('[data-name="' + name + '"]').forEach(function (input) {
      if (input.closest("[data-scope]") !== scope || input.disabled) return;
      if ((input.type === "checkbox" || input.type === "radio") && !input.checked) return;
      out.push(input.value);
    });
    return out;
  }

  function refresh(root) {
    for (var pass = 0; pass < 2; pass++) {  /* a condition may hang on a field that is itself conditional */
      root.querySelectorAll("[data-show-if]").forEach(function (el) {
        var scope = scopeOf(el);
        if (!scope) return;
        var wanted = el.getAttribute("data-show-values").split("|");
        var shown = valuesOf(scope, el.getAttribute("data-show-if")).some(function (v) { return wanted.indexOf(v) >= 0; });
        el.hidden = !shown;
        el.querySelectorAll("input, select, textarea").forEach(function (i) { i.disabled = !shown; });
      });
    }
  }

  document.addEventListener("click", function (event) {
    var add = event.target.closest("button.add-row");
    if (!add) return;
    event.preventDefault();
    var box = add.closest("[data-table]");
    var next = parseInt(box.getAttribute("data-next"), 10);
    var count = box.querySelectorAll(".rows > .row").length;
    var html = box.querySelector("template").innerHTML.split("__i__").join(String(next)).split("__n__").join(String(count + 1));
    box.querySelector(".rows").insertAdjacentHTML("beforeend", html);
    box.setAttribute("data-next", String(next + 1));
    refresh(document);
    var first = box.querySelector('.rows > [data-row="' + next + '"] input, .rows > [data-row="' + next + '"] select');
    if (first) first.focus();
  });

  document.addEventListener("change", function (event) {
    if (event.target.classList.contains("row-remove") && event.target.checked) {
      var rows = event.target.closest(".rows");
      event.target.closest(".row").remove();
      rows.querySelectorAll(":scope > .row > legend").forEach(function (legend, i) { legend.textContent = "第 " + (i + 1) + " 行"; });
    }
    refresh(document);
  });
  document.addEventListener("input", function () { refresh(document); });
  document.addEventListener("DOMContentLoaded", function () { refresh(document); });
  if (document.readyState !== "loading") refresh(document);
})();
