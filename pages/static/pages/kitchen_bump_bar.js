/* The kitchen board's keyboard, worked like a bump bar: arrows move between tickets, Enter or B
   bumps the selected ticket to its next stage, R recalls the last bumped one.

   Loaded before kitchen.js, which calls window.orderflow.kitchenBumpBar(parts) once with what the
   keys act on (`parts`: the board element, the board's config, its orders by id, and its act,
   column, element and say helpers) and gets back `select` and `reselect`. */
(function () {
  "use strict";

  window.orderflow.kitchenBumpBar = function (parts) {
    var config = parts.config, board = parts.board, orders = parts.orders;
    var act = parts.act, column = parts.column, element = parts.element, say = parts.say;
    var recallBox = document.getElementById("recall");
    var selectedId = null;
    var lastBumped = null;

    function cardsInColumn(key) {
      return Array.prototype.slice.call(column(key).querySelectorAll(".card"));
    }

    function select(orderId, focus) {
      var previous = selectedId && document.getElementById("order-" + selectedId);
      if (previous) previous.classList.remove("is-selected");
      selectedId = orderId;
      var node = orderId && document.getElementById("order-" + orderId);
      if (!node) {
        selectedId = null;
        board.removeAttribute("data-selected");
        return;
      }
      node.classList.add("is-selected");
      board.setAttribute("data-selected", orderId);
      if (focus !== false && document.activeElement !== node) node.focus({ preventScroll: false });
    }

    function move(dx, dy) {
      var keys = config.columns.map(function (c) { return c.key; });
      var node = selectedId && document.getElementById("order-" + selectedId);
      if (!node) {
        for (var k = 0; k < keys.length; k += 1) {
          var first = cardsInColumn(keys[k])[0];
          if (first) return select(first.getAttribute("data-order-id"));
        }
        return;
      }
      var colKey = node.closest("[data-column]").getAttribute("data-column");
      var col = keys.indexOf(colKey);
      var row = cardsInColumn(colKey).indexOf(node);
      if (dy) {
        var list = cardsInColumn(colKey);
        var target = list[Math.max(0, Math.min(list.length - 1, row + dy))];
        if (target) select(target.getAttribute("data-order-id"));
        return;
      }
      for (var c = col + dx; c >= 0 && c < keys.length; c += dx) {
        var cards = cardsInColumn(keys[c]);
        if (cards.length) {
          var pick = cards[Math.min(row, cards.length - 1)];
          return select(pick.getAttribute("data-order-id"));
        }
      }
    }

    var BUMPS = { RESTAURANT_CONFIRMED: "confirm", PREPARING: "start-preparing", READY_FOR_PICKUP: "mark-ready" };

    function bump() {
      var order = selectedId && orders[selectedId];
      if (!order) return;
      if (!config.canAct) {
        say("Watching only: act from the admin.");
        return;
      }
      var action = null;
      ["RESTAURANT_CONFIRMED", "PREPARING", "READY_FOR_PICKUP"].forEach(function (status) {
        if (!action && (order.next_statuses || []).indexOf(status) >= 0) action = BUMPS[status];
      });
      if (!action) {
        say(order.order_number + (order.delivery_type === "pickup"
          ? ": type the customer's code to hand it over."
          : ": waiting for the courier to collect it."));
        return;
      }
      lastBumped = { id: order.id, number: order.order_number, order: order };
      board.setAttribute("data-last-bumped", order.id);
      act(order, action).then(function () {
        // Keep the bumped ticket in front of the cook, unless the cook has moved on meanwhile.
        if (!selectedId || selectedId === order.id) select(order.id);
      }, function () {});
    }

    /* Recall: the last bumped ticket back in front of the cook, wherever it went. */
    function recall() {
      if (!lastBumped) {
        say("Nothing bumped yet to recall.");
        return;
      }
      var node = document.getElementById("order-" + lastBumped.id);
      if (node) {
        select(lastBumped.id);
        node.classList.add("is-recalled");
        window.setTimeout(function () { node.classList.remove("is-recalled"); }, 3000);
        say("Recalled order " + lastBumped.number);
      } else {
        recallBox.replaceChildren(element("strong", "", "Recalled " + lastBumped.number + ": "),
          document.createTextNode((lastBumped.order.items || []).map(function (i) { return i.quantity + "× " + i.name; }).join(", ") + " (no longer on the board)"));
        recallBox.hidden = false;
        say("Recalled order " + lastBumped.number + ", no longer on the board");
      }
      board.setAttribute("data-recalled", lastBumped.id);
    }

    document.addEventListener("keydown", function (event) {
      var target = event.target;
      if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "BUTTON" || target.tagName === "A")) {
        if (!(target.tagName === "BUTTON" && /^Arrow/.test(event.key))) return;
      }
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      var handled = true;
      switch (event.key) {
        case "ArrowLeft": move(-1, 0); break;
        case "ArrowRight": move(1, 0); break;
        case "ArrowUp": move(0, -1); break;
        case "ArrowDown": move(0, 1); break;
        case "Enter": case "b": case "B": bump(); break;
        case "r": case "R": recall(); break;
        default: handled = false;
      }
      if (handled) event.preventDefault();
    });

    /* After the board is redrawn: a selected ticket that left the board is no longer selected;
       one still there gets its highlight back on its new card. */
    function reselect() {
        if (selectedId && !document.getElementById("order-" + selectedId)) select(null);
        else if (selectedId) document.getElementById("order-" + selectedId).classList.add("is-selected");
    }

    return { select: select, reselect: reselect };
  };
})();
