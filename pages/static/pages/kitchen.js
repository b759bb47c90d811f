/* The kitchen board: the restaurant's queue in columns, live from its socket. Each event moves
   its card at once and refreshes the tickets (the REST queue's orders with the courier coming
   for each); actions call the same REST endpoints, and so the same services, as the apps.

   A kitchen display: every ticket has a timer coloured by its deadline, items with their
   options and instructions first; the keyboard works it like a bump bar (arrows move between
   tickets, Enter or B bumps the selected ticket to its next stage, R recalls the last bumped
   one: kitchen_bump_bar.js); the all-day strip counts the items being made. The intake panel
   (status, pause and busy buttons, slots) is kitchen_intake.js. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("board-config").textContent);
  var api = window.orderflow.api;
  var board = document.getElementById("board");
  var announcer = document.getElementById("announcer");
  var alertBox = document.getElementById("board-alert");
  var soundButton = document.getElementById("sound");
  var connectionEl = document.getElementById("connection");
  var allDay = document.getElementById("all-day");
  // Minutes a ticket may take in a stage when it has no deadline of its own.
  var STAGE_MINUTES = { new: 5, confirmed: 10, preparing: 20, ready: 15 };
  // How soon before its deadline a ticket turns amber.
  var SOON_SECONDS = 120;
  // The kitchen's own words for where an order has gone.
  var KITCHEN_WORDS = {
    PAYMENT_PENDING: "is still waiting for payment",
    PAYMENT_FAILED: "was not paid",
    PAYMENT_SUCCESS: "is paid and waiting for you",
    ORDER_PLACED: "is waiting to be confirmed",
    RESTAURANT_CONFIRMED: "is already confirmed",
    RESTAURANT_REJECTED: "was rejected",
    PREPARING: "is already being prepared",
    READY_FOR_PICKUP: "is already marked ready",
    ORDER_PICKED_UP: "has already been picked up by the courier",
    OUT_FOR_DELIVERY: "is already on its way to the customer",
    DELIVERED: "has already been handed over",
    COMPLETED: "is finished",
    RETURNED: "was returned",
    CANCELLED: "was cancelled",
    REFUND_COMPLETED: "was cancelled and refunded"
  };
  var ACTION_WORDS = {
    confirm: "confirm it",
    reject: "reject it",
    "start-preparing": "start preparing it",
    "mark-ready": "mark it ready",
    handover: "hand it over"
  };
  var known = {};
  var orders = {};
  var firstLoad = true;
  var refreshTimer = null;
  var audio = null;
  var cues = 0;
  var baseTitle = document.title;

  /* An order for later waits in its own column until the kitchen receives it. */
  function keyFor(order) {
    return order.scheduled ? "scheduled" : columnFor(order.order_status);
  }

  function columnFor(status) {
    for (var i = 0; i < config.columns.length; i += 1) {
      if (config.columns[i].statuses.indexOf(status) >= 0) return config.columns[i].key;
    }
    return null;
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function clock(iso) {
    return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function say(text) {
    announcer.textContent = text;
  }

  function showProblem(error) {
    alertBox.textContent = (error && error.body && error.body.detail) || "The action failed; please try again.";
    alertBox.hidden = false;
  }

  /* A refused action in the kitchen's words; the card is then redrawn from the server. */
  function kitchenProblem(order, action, error) {
    var body = (error && error.body) || {};
    var current = body.current_status ? String(body.current_status).toUpperCase() : null;
    var text;
    if (body.code === "invalid_transition" && current) {
      text = "Order " + order.order_number + " " + (KITCHEN_WORDS[current] || "has moved on") +
        ", so you cannot " + (ACTION_WORDS[action] || "do that") + " now. The board is updated.";
    } else if (error && error.status === 404) {
      text = "Order " + order.order_number + " is no longer on this board. The board is updated.";
    } else if (body.code && /otp|code/.test(body.code)) {
      text = body.detail || "That code is not right; ask the customer to read it again.";
    } else {
      text = (body.detail || "That did not work") + " Please try again.";
    }
    alertBox.textContent = text;
    alertBox.hidden = false;
    refresh();
  }

  function act(order, action, body) {
    alertBox.hidden = true;
    var url = config.actionUrl.replace("{id}", order.id).replace("{action}", action);
    return api(url, { method: "POST", body: body || {} }).then(function (result) {
      var status = String(result.status).toUpperCase();
      say(order.order_number + ": " + (config.statusNames[status] || status));
      moveCard(order.id, status);
      scheduleRefresh();
      return status;
    }, function (error) {
      kitchenProblem(order, action, error);
      throw error;
    });
  }

  function button(label, className, handler) {
    var node = element("button", "button " + (className || ""), label);
    node.type = "button";
    node.addEventListener("click", handler);
    return node;
  }

  function inlineForm(label, inputAttributes, submitLabel, onSubmit) {
    var form = element("form", "inline-form");
    var id = "f-" + Math.random().toString(36).slice(2);
    var labelNode = element("label", "", label);
    labelNode.setAttribute("for", id);
    var input = element("input");
    input.id = id;
    Object.keys(inputAttributes).forEach(function (key) {
      input.setAttribute(key, inputAttributes[key]);
    });
    var submit = element("button", "button", submitLabel);
    submit.type = "submit";
    form.appendChild(labelNode);
    form.appendChild(input);
    form.appendChild(submit);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      onSubmit(input.value.trim());
    });
    return form;
  }

  function actionsFor(order) {
    var box = element("div", "card-actions");
    if (!config.canAct) {
      var link = element("a", "", "Open in the admin");
      link.href = config.adminOrderUrl.replace("{id}", order.id);
      box.appendChild(link);
      return box;
    }
    var next = order.next_statuses || [];
    if (next.indexOf("RESTAURANT_CONFIRMED") >= 0) {
      box.appendChild(button("Confirm", "primary", function () { act(order, "confirm").catch(function () {}); }));
    }
    if (next.indexOf("RESTAURANT_REJECTED") >= 0) {
      var reject = inlineForm("Reason to reject", { required: "required", maxlength: "500" }, "Reject", function (reason) {
        act(order, "reject", { reason: reason }).catch(function () {});
      });
      reject.hidden = true;
      box.appendChild(button("Reject…", "quiet", function () { reject.hidden = false; reject.querySelector("input").focus(); }));
      box.appendChild(reject);
    }
    if (next.indexOf("PREPARING") >= 0) {
      box.appendChild(button("Start preparing", "primary", function () { act(order, "start-preparing").catch(function () {}); }));
    }
    if (next.indexOf("READY_FOR_PICKUP") >= 0) {
      box.appendChild(button("Mark ready", "primary", function () { act(order, "mark-ready").catch(function () {}); }));
    }
    if (order.order_status === "READY_FOR_PICKUP" && order.delivery_type === "pickup") {
      box.appendChild(
        inlineForm("Customer's code", { required: "required", inputmode: "numeric", pattern: "[0-9]{6}", maxlength: "6" }, "Hand over", function (otp) {
          act(order, "handover", { otp: otp }).catch(function () {});
        })
      );
    }
    if (order.order_status === "READY_FOR_PICKUP" && order.delivery_type === "delivery") {
      var code = element("p", "pickup-code", "Pickup code: …");
      api(config.codeUrl.replace("{id}", order.id)).then(function (body) {
        code.textContent = "Pickup code for the courier: " + body.otp;
        if (body.expires_at) code.setAttribute("data-expires", body.expires_at);
        tick();
      }, function () {
        code.textContent = "Pickup code not available.";
      });
      box.appendChild(code);
    }
    return box;
  }

  /* When the ticket's current stage is due: the system's deadline where there is one (confirm,
     collection), the kitchen's own ready time while cooking, else a fixed allowance. */
  function dueAt(order) {
    var key = keyFor(order);
    if (key === "scheduled" && order.release_at) return order.release_at;
    if (order.deadline_at && (key === "new" || key === "ready")) return order.deadline_at;
    if ((key === "confirmed" || key === "preparing") && order.estimated_ready_time) return order.estimated_ready_time;
    var since = new Date(order.last_update || order.order_placed_at).getTime();
    return new Date(since + (STAGE_MINUTES[key] || 15) * 60000).toISOString();
  }

  function card(order) {
    var node = element("article", "card");
    node.id = "order-" + order.id;
    node.tabIndex = -1;
    node.setAttribute("data-order-id", order.id);
    node.setAttribute("data-status", order.order_status);
    node.setAttribute("aria-label", "Order " + order.order_number);
    var head = element("header", "card-head");
    head.appendChild(element("h3", "order-no", order.order_number));
    head.appendChild(element("span", "badge", order.delivery_type === "pickup" ? "Pickup" : "Delivery"));
    node.appendChild(head);
    var timer = element("p", "timer");
    timer.setAttribute("data-since", order.order_placed_at);
    timer.setAttribute("data-due", dueAt(order));
    timer.setAttribute("data-stage", keyFor(order) || "");
    node.appendChild(timer);
    if (order.fulfill_at) {
      var promised = "For " + clock(order.fulfill_at);
      if (order.scheduled && order.release_at) promised += " · to the kitchen at " + clock(order.release_at);
      node.appendChild(element("p", "scheduled-for", promised));
    }
    var list = element("ul", "items");
    (order.items || []).forEach(function (item) {
      var line = element("li", "item");
      var name = element("span", "item-name");
      name.appendChild(element("strong", "qty", item.quantity + "×"));
      name.appendChild(document.createTextNode(" " + item.name));
      line.appendChild(name);
      var extras = (item.customizations || []).map(function (c) { return c.choice_name; }).filter(Boolean);
      if (extras.length) line.appendChild(element("span", "item-options", extras.join(" · ")));
      if (item.notes) line.appendChild(element("span", "item-note", item.notes));
      list.appendChild(line);
    });
    node.appendChild(list);
    if (order.notes) node.appendChild(element("p", "notes", "Order note: " + order.notes));
    if (order.courier && order.order_status === "READY_FOR_PICKUP") {
      var coming = "Courier: " + order.courier.first_name;
      if (order.courier.distance_km !== null && order.courier.distance_km !== undefined) {
        coming += order.courier.distance_km < 0.2 ? " · here" : " · " + order.courier.distance_km.toFixed(1) + " km away";
      }
      node.appendChild(element("p", "courier-coming", coming));
    } else if (order.order_status === "READY_FOR_PICKUP" && order.delivery_type === "delivery") {
      node.appendChild(element("p", "courier-coming muted", "No courier yet"));
    }
    node.appendChild(actionsFor(order));
    node.addEventListener("focus", function () { select(order.id, false); });
    return node;
  }

  function column(key) {
    return board.querySelector('[data-column="' + key + '"] .cards');
  }

  function updateCounts() {
    config.columns.forEach(function (col) {
      var count = column(col.key).children.length;
      board.querySelector('[data-column="' + col.key + '"] .count').textContent = String(count);
    });
    renderAllDay();
  }

  /* All day: how many of each item the kitchen has to make now (confirmed and preparing). */
  function renderAllDay() {
    var totals = {};
    Object.keys(orders).forEach(function (id) {
      var order = orders[id];
      var key = columnFor(order.order_status);
      if (key !== "confirmed" && key !== "preparing") return;
      (order.items || []).forEach(function (item) {
        totals[item.name] = (totals[item.name] || 0) + item.quantity;
      });
    });
    var names = Object.keys(totals).sort(function (a, b) { return totals[b] - totals[a] || (a < b ? -1 : 1); });
    allDay.replaceChildren();
    if (!names.length) {
      allDay.appendChild(element("li", "muted", "Nothing in preparation"));
      return;
    }
    names.forEach(function (name) {
      var item = element("li", "all-day-item");
      item.setAttribute("data-item", name);
      item.appendChild(element("strong", "", String(totals[name])));
      item.appendChild(document.createTextNode(" " + name));
      allDay.appendChild(item);
    });
  }


  function moveCard(orderId, status) {
    var node = document.getElementById("order-" + orderId);
    if (!node) return;
    status = String(status || "").toUpperCase();
    var key = columnFor(status);
    // An order for later keeps its column until the queue says it was released.
    if (key === "new" && node.closest('[data-column="scheduled"]')) return;
    if (!key) {
      node.remove();
      if (orders[orderId]) delete orders[orderId];
    } else if (node.parentNode !== column(key)) {
      node.setAttribute("data-status", status);
      // Its actions were for the old status: none until the queue's answer redraws the card.
      var actions = node.querySelector(".card-actions");
      if (actions) actions.replaceChildren(element("p", "muted", "Updating…"));
      column(key).appendChild(node);
    }
    updateCounts();
  }

  function cue(order) {
    cues += 1;
    board.setAttribute("data-cues", String(cues));
    var node = document.getElementById("order-" + order.id);
    if (node) node.classList.add("is-new");
    say("New order " + order.order_number);
    document.title = "(" + cues + " new) " + baseTitle;
    if (audio) {
      var oscillator = audio.createOscillator();
      var gain = audio.createGain();
      oscillator.frequency.value = 880;
      gain.gain.setValueAtTime(0.2, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.6);
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start();
      oscillator.stop(audio.currentTime + 0.6);
      board.setAttribute("data-beeps", String(Number(board.getAttribute("data-beeps") || 0) + 1));
    }
  }

  function render(queue) {
    var seen = {};
    queue.forEach(function (order) {
      seen[order.id] = true;
      var key = keyFor(order);
      if (!key) return;
      var signature = JSON.stringify(order);
      var old = document.getElementById("order-" + order.id);
      if (old && old.getAttribute("data-signature") === signature) {
        // Unchanged: keep the card as it is (a half-typed reason or code stays).
        if (old.parentNode !== column(key)) column(key).appendChild(old);
      } else {
        var fresh = card(order);
        fresh.setAttribute("data-signature", signature);
        if (old) {
          if (old.classList.contains("is-new")) fresh.classList.add("is-new");
          old.replaceWith(fresh);
          if (fresh.parentNode !== column(key)) column(key).appendChild(fresh);
        } else {
          column(key).appendChild(fresh);
        }
      }
      if (!known[order.id] && !firstLoad) cue(order);
      known[order.id] = true;
      orders[order.id] = order;
    });
    Object.keys(orders).forEach(function (id) {
      if (!seen[id]) {
        var node = document.getElementById("order-" + id);
        if (node) node.remove();
        delete orders[id];
      }
    });
    firstLoad = false;
    updateCounts();
    bumpBar.reselect();
    tick();
  }

  function refresh() {
    return api(config.queueUrl).then(function (body) {
      render(body.orders);
      if (body.kitchen) showKitchen(body.kitchen);
      if (body.slots) showSlots(body.slots);
    }, showProblem);
  }

  function scheduleRefresh() {
    window.clearTimeout(refreshTimer);
    refreshTimer = window.setTimeout(refresh, 150);
  }

  function mmss(total) {
    total = Math.max(0, Math.round(total));
    var minutes = Math.floor(total / 60);
    var seconds = total % 60;
    return minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
  }

  var DUE_WORDS = { scheduled: "To the kitchen in", new: "Confirm within", confirmed: "Start within", preparing: "Ready in", ready: "Collect within" };
  var LATE_WORDS = { scheduled: "Due in the kitchen, late by", new: "Confirm now: late by", confirmed: "Late by", preparing: "Late by", ready: "Waiting past due by" };

  /* Every ticket's timer: time since it was placed, and what is due when, coloured by the deadline. */
  function tick() {
    var now = Date.now();
    board.querySelectorAll(".timer").forEach(function (node) {
      var card = node.closest(".card");
      var stage = node.getAttribute("data-stage");
      var elapsed = (now - new Date(node.getAttribute("data-since"))) / 1000;
      var left = (new Date(node.getAttribute("data-due")) - now) / 1000;
      var urgency = left <= 0 ? "overdue" : left < SOON_SECONDS ? "soon" : "ok";
      var due = left <= 0 ? LATE_WORDS[stage] + " " + mmss(-left) : DUE_WORDS[stage] + " " + mmss(left);
      node.textContent = mmss(elapsed) + " · " + due;
      if (card.getAttribute("data-urgency") !== urgency) card.setAttribute("data-urgency", urgency);
    });
    board.querySelectorAll(".pickup-code[data-expires]").forEach(function (node) {
      if (new Date(node.getAttribute("data-expires")) <= now && !node.classList.contains("is-expired")) {
        node.classList.add("is-expired");
        node.textContent = "Pickup code expired: the courier asks for a new one in their app.";
      }
    });
  }

  soundButton.addEventListener("click", function () {
    if (audio) {
      audio.close();
      audio = null;
      soundButton.setAttribute("aria-pressed", "false");
      soundButton.textContent = "Sound: off";
      return;
    }
    var AudioContext = window.AudioContext || window.webkitAudioContext;
    if (!AudioContext) return;
    audio = new AudioContext();
    soundButton.setAttribute("aria-pressed", "true");
    soundButton.textContent = "Sound: on";
  });

  board.addEventListener("click", function (event) {
    var node = event.target.closest(".card.is-new");
    if (node) node.classList.remove("is-new");
    if (!board.querySelector(".card.is-new")) document.title = baseTitle;
  });

  /* What the bump bar (kitchen_bump_bar.js) and the intake panel (kitchen_intake.js) share with
     the board: its state and the helpers they call. */
  var parts = {
    config: config,
    api: api,
    board: board,
    orders: orders,
    alertBox: alertBox,
    act: act,
    clock: clock,
    column: column,
    element: element,
    say: say,
    scheduleRefresh: scheduleRefresh,
    showProblem: showProblem
  };
  var bumpBar = window.orderflow.kitchenBumpBar(parts);
  var select = bumpBar.select;
  var intake = window.orderflow.kitchenIntake(parts);
  var showKitchen = intake.showKitchen;
  var showSlots = intake.showSlots;

  var feed = new window.orderflow.LiveFeed({
    socketPath: config.socketPath,
    replay: false,
    pollSeconds: config.pollSeconds,
    reconnectMaxSeconds: config.reconnectMaxSeconds,
    onSnapshot: function (data) {
      if (data.kitchen) showKitchen(data.kitchen);
      scheduleRefresh();
    },
    onKitchenStatus: function (kitchen) {
      showKitchen(kitchen);
      scheduleRefresh();
    },
    onEvent: function (event) {
      if (event.order_id && event.new_status) moveCard(event.order_id, event.new_status);
      scheduleRefresh();
    },
    poll: function () {
      return refresh().then(function () {
        return {};
      });
    },
    onState: function (name) {
      connectionEl.textContent =
        name === "live" ? "Live" : "Reconnecting… (refreshing every " + config.pollSeconds + " s)";
      board.setAttribute("data-connection", name);
    }
  });
  refresh().then(function () {
    feed.start();
  });
  window.setInterval(tick, 1000);
})();
