/* Accessible names for what Django's admin widgets leave unnamed: the cells of tabular inlines
   (named after their column), the two halves of a date-time field, and the icons of the
   two-box selector (an aria-label on a plain span is not read; as an image it is). */
(function () {
  "use strict";

  function name(field, text) {
    if (!field || field.type === "hidden" || field.getAttribute("aria-label") || field.labels && field.labels.length) return;
    if (text) field.setAttribute("aria-label", text.trim());
  }

  function fix() {
    document.querySelectorAll(".tabular table").forEach(function (table) {
      var headers = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
        return th.textContent;
      });
      table.querySelectorAll("tbody tr").forEach(function (row) {
        Array.prototype.forEach.call(row.children, function (cell, index) {
          var header = headers[index] || "";
          cell.querySelectorAll("input, select, textarea").forEach(function (field) {
            name(field, field.type === "checkbox" && /delete/i.test(field.name) ? "Delete" : header);
          });
        });
      });
    });
    document.querySelectorAll("p.datetime").forEach(function (box) {
      var row = box.closest(".form-row, .fieldBox, div");
      var label = row && row.querySelector("label");
      var base = label ? label.textContent.replace(/:$/, "") : "";
      var inputs = box.querySelectorAll("input");
      if (inputs[0]) name(inputs[0], base + " date");
      if (inputs[1]) name(inputs[1], base + " time");
    });
    document.querySelectorAll(".help-tooltip[aria-label]").forEach(function (icon) {
      if (!icon.getAttribute("role")) icon.setAttribute("role", "img");
    });
  }

  window.addEventListener("load", function () {
    fix();
    window.setTimeout(fix, 0); // after the widgets that build themselves on load
  });
})();
