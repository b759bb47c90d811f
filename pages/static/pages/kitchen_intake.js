/* The kitchen board's intake panel: the kitchen's status (open, closed, paused until, busy +N),
   the buttons that set it, and its slots' load.

   Loaded before kitchen.js, which calls window.orderflow.kitchenIntake(parts) once with what the
   panel uses (`parts`: the board's config, the api call, and its alertBox, clock, element, say,
   scheduleRefresh and showProblem helpers) and gets back `showKitchen` and `showSlots`. */
(function () {
  "use strict";

  window.orderflow.kitchenIntake = function (parts) {
    var config = parts.config, api = parts.api, alertBox = parts.alertBox;
    var clock = parts.clock, element = parts.element, say = parts.say;
    var scheduleRefresh = parts.scheduleRefresh, showProblem = parts.showProblem;
    var kitchenStatus = document.getElementById("kitchen-status");
    var slotsList = document.getElementById("slots");
    var control = document.getElementById("kitchen-control");

    function showKitchen(kitchen) {
      var text = "Open: taking orders";
      if (kitchen.status === "paused") {
        text = "Paused" + (kitchen.until ? " until " + clock(kitchen.until) : ": no new orders until you open");
      } else if (kitchen.status === "busy") {
        text = "Busy: quotes +" + kitchen.busy_minutes + " min" + (kitchen.until ? " until " + clock(kitchen.until) : "");
      } else if (kitchen.status === "closed") {
        text = "Closed" + (kitchen.reopens_at ? ": opens " + new Date(kitchen.reopens_at).toLocaleString([], {
          weekday: "short", hour: "2-digit", minute: "2-digit" }) : "");
      }
      kitchenStatus.textContent = text;
      kitchenStatus.setAttribute("data-status", kitchen.status);
    }

    function showSlots(slots) {
      slotsList.replaceChildren();
      slots.forEach(function (slot) {
        var item = element("li", "slot", clock(slot.start) + " · " + slot.load + (slot.capacity ? "/" + slot.capacity : ""));
        item.setAttribute("data-start", slot.start);
        item.setAttribute("data-load", String(slot.load));
        if (slot.capacity && slot.load >= slot.capacity) item.classList.add("is-full");
        slotsList.appendChild(item);
      });
    }

    if (control) {
      control.addEventListener("click", function (event) {
        var target = event.target.closest("button[data-set]");
        if (!target) return;
        var status = target.getAttribute("data-set");
        var body = { status: status };
        var minutes = Number(document.getElementById("status-for").value || 0);
        if (status !== "open" && minutes) body.until = new Date(Date.now() + minutes * 60000).toISOString();
        if (status === "busy") body.busy_minutes = Number(target.getAttribute("data-minutes"));
        alertBox.hidden = true;
        api(config.kitchenUrl, { method: "PUT", body: body }).then(function (kitchen) {
          showKitchen(kitchen);
          say(kitchenStatus.textContent);
          scheduleRefresh();
        }, showProblem);
      });
    }

    return { showKitchen: showKitchen, showSlots: showSlots };
  };
})();
