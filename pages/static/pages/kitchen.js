/* The kitchen board: the restaurant's queue in columns, live from its socket. Each event moves
   its card at once and refreshes the queue from the REST API (items, deadlines, what may be
   done next); actions call the same REST endpoints, and so the same services, as the apps. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("board-config").textContent);
  var api = window.orderflow.api;
  var board = document.getElementById("board");
  var announcer = document.getElementById("announcer");
  var alertBox = document.getElementById("board-alert");
  var soundButton = document.getElementById("sound");
  var connectionEl = document.getElementById("connection");
  var known = {};
  var orders = {};
  var firstLoad = true;
  var refreshTimer = null;
  var audio = null;
  var cues = 0;
  var baseTitle = document.title;

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

  function act(order, action, body) {
    alertBox.hidden = true;
    var url = config.actionUrl.replace("{id}", order.id).replace("{action}", action);
    return api(url, { method: "POST", body: body || {} }).then(function (result) {
      say(order.order_number + ": " + (config.statusNames[result.status] || result.status));
      moveCard(order.id, result.status);
      scheduleRefresh();
    }, showProblem);
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
    var next = order.next_statuses || [];
    if (next.indexOf("RESTAURANT_CONFIRMED") >= 0) {
      box.appendChild(button("Confirm", "primary", function () { act(order, "confirm"); }));
    }
    if (next.indexOf("RESTAURANT_REJECTED") >= 0) {
      var reject = inlineForm("Reason to reject", { required: "required", maxlength: "500" }, "Reject", function (reason) {
        act(order, "reject", { reason: reason });
      });
      reject.hidden = true;
      box.appendChild(button("Reject…", "quiet", function () { reject.hidden = false; reject.querySelector("input").focus(); }));
      box.appendChild(reject);
    }
    if (next.indexOf("PREPARING") >= 0) {
      box.appendChild(button("Start preparing", "primary", function () { act(order, "start-preparing"); }));
    }
    if (next.indexOf("READY_FOR_PICKUP") >= 0) {
      box.appendChild(button("Mark ready", "primary", function () { act(order, "mark-ready"); }));
    }
    if (order.order_status === "READY_FOR_PICKUP" && order.delivery_type === "pickup") {
      box.appendChild(
        inlineForm("Customer's code", { required: "required", inputmode: "numeric", pattern: "[0-9]{6}", maxlength: "6" }, "Hand over", function (otp) {
          act(order, "handover", { otp: otp });
        })
      );
    }
    if (order.order_status === "READY_FOR_PICKUP" && order.delivery_type === "delivery") {
      var code = element("p", "pickup-code", "Pickup code: …");
      api(config.codeUrl.replace("{id}", order.id)).then(function (body) {
        code.textContent = "Pickup code for the courier: " + body.otp;
      }, function () {
        code.textContent = "Pickup code not available.";
      });
      box.appendChild(code);
    }
    return box;
  }

  function card(order) {
    var node = element("article", "card");
    node.id = "order-" + order.id;
    node.setAttribute("data-order-id", order.id);
    node.setAttribute("data-status", order.order_status);
    node.setAttribute("aria-label", "Order " + order.order_number);
    var head = element("header", "card-head");
    head.appendChild(element("h3", "", order.order_number));
    head.appendChild(element("span", "badge", order.delivery_type === "pickup" ? "Pickup" : "Delivery"));
    node.appendChild(head);
    node.appendChild(element("p", "muted", "Placed " + clock(order.order_placed_at)));
    var list = element("ul", "items");
    (order.items || []).forEach(function (item) {
      var text = item.quantity + " × " + item.name;
      var extras = (item.customizations || []).map(function (c) { return c.choice_name; }).filter(Boolean);
      if (extras.length) text += " (" + extras.join(", ") + ")";
      list.appendChild(element("li", "", text));
    });
    node.appendChild(list);
    if (order.notes) node.appendChild(element("p", "notes", "Note: " + order.notes));
    if (order.deadline_at && order.deadline_kind === "restaurant_timeout") {
      var deadline = element("p", "deadline");
      deadline.setAttribute("data-deadline", order.deadline_at);
      node.appendChild(deadline);
    }
    node.appendChild(actionsFor(order));
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
  }

  function moveCard(orderId, status) {
    var node = document.getElementById("order-" + orderId);
    if (!node) return;
    var key = columnFor(status);
    if (!key) {
      node.remove();
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
      var key = columnFor(order.order_status);
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
    tick();
  }

  function refresh() {
    return api(config.queueUrl).then(function (body) {
      render(body.orders);
    }, showProblem);
  }

  function scheduleRefresh() {
    window.clearTimeout(refreshTimer);
    refreshTimer = window.setTimeout(refresh, 150);
  }

  function tick() {
    board.querySelectorAll("[data-deadline]").forEach(function (node) {
      var left = Math.round((new Date(node.getAttribute("data-deadline")) - Date.now()) / 1000);
      if (left <= 0) {
        node.textContent = "Confirm deadline passed: cancelling…";
        node.classList.add("is-late");
        return;
      }
      var minutes = Math.floor(left / 60);
      var seconds = left % 60;
      node.textContent = "Confirm within " + minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
      node.classList.toggle("is-late", left < 120);
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

  var feed = new window.orderflow.LiveFeed({
    socketPath: config.socketPath,
    replay: false,
    pollSeconds: config.pollSeconds,
    reconnectMaxSeconds: config.reconnectMaxSeconds,
    onSnapshot: function () {
      scheduleRefresh();
    },
    onEvent: function (event) {
      moveCard(event.order_id, event.new_status);
      scheduleRefresh();
    },
    poll: function () {
      return refresh().then(function () {
        return {};
      });
    },
    onState: function (name) {
      connectionEl.textContent = name === "live" ? "Live" : "Reconnecting… (refreshing every " + config.pollSeconds + " s)";
      board.setAttribute("data-connection", name);
    }
  });
  refresh().then(function () {
    feed.start();
  });
  window.setInterval(tick, 1000);
})();
