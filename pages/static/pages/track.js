/* The tracking page (public link or the signed-in customer's page): status, timeline with
   times, ETA counting down, courier and their position, the final state. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("tracker-config").textContent);
  var api = window.orderflow.api;
  var root = document.getElementById("tracker");
  var statusEl = document.getElementById("status");
  var etaEl = document.getElementById("eta");
  var etaLabel = document.getElementById("eta-label");
  var etaNote = document.getElementById("eta-note");
  var refundEl = document.getElementById("refund");
  var etaCountdown = document.getElementById("eta-countdown");
  var etaClock = document.getElementById("eta-clock");
  var finalEl = document.getElementById("final");
  var connectionEl = document.getElementById("connection");
  var courierEl = document.getElementById("courier");
  var courierName = document.getElementById("courier-name");
  var timeline = document.getElementById("timeline");
  var mapFigure = document.getElementById("map");
  var map = window.orderflowMap
    ? window.orderflowMap(document.getElementById("map-svg"), config.map, document.getElementById("map-tiles"))
    : null;
  var isPickup = config.snapshot.delivery_type === "pickup";
  // How far past a passed estimate the page's own new estimate is put, until the server sends one.
  var LATE_MARGIN_MS = 10 * 60 * 1000;
  var KITCHEN = ["PAYMENT_PENDING", "PAYMENT_SUCCESS", "ORDER_PLACED", "RESTAURANT_CONFIRMED", "PREPARING", "READY_FOR_PICKUP"];

  var ON_THE_ROAD = ["ORDER_PICKED_UP", "OUT_FOR_DELIVERY"];
  var ALWAYS_FINAL = ["DELIVERED", "COMPLETED", "REFUND_COMPLETED", "PAYMENT_FAILED"];
  var REFUNDABLE_END = ["CANCELLED", "RESTAURANT_REJECTED", "RETURNED"];
  var SETTLED_REFUND = ["NONE", "COMPLETED", "FAILED"];
  var STATUS_NAMES = {
    PAYMENT_PENDING: "Payment Pending", PAYMENT_FAILED: "Payment Failed", PAYMENT_SUCCESS: "Payment Successful",
    ORDER_PLACED: "Order Placed", RESTAURANT_CONFIRMED: "Order Confirmed", RESTAURANT_REJECTED: "Rejected by Restaurant",
    PREPARING: "Food Being Prepared", READY_FOR_PICKUP: "Ready for Pickup", ORDER_PICKED_UP: "Order Picked Up",
    OUT_FOR_DELIVERY: "Out for Delivery", DELIVERED: "Delivered", COMPLETED: "Completed", RETURNED: "Returned",
    CANCELLED: "Cancelled", REFUND_COMPLETED: "Refund Completed"
  };

  // The statuses' words on this page: the step's label where the status reaches a step, so the
  // headline and the timeline say the same thing.
  config.steps.forEach(function (step) {
    step.statuses.forEach(function (status) {
      if (status !== "PAYMENT_PENDING") STATUS_NAMES[status] = step.label;
    });
  });

  /* Sub-statuses arrive in upper or lower case, depending on the contract that sent them. */
  function upper(value) {
    return value === null || value === undefined ? value : String(value).toUpperCase();
  }

  var replaying = true; // while the events the page was rendered with are applied
  var state = {
    status: upper(config.snapshot.status),
    refund: upper(config.snapshot.refund_status),
    eta: config.snapshot.estimated_delivery_time, // the best estimate now (a courier's position refines it)
    promised: config.snapshot.estimated_delivery_time, // the order's own estimate
    courier: config.snapshot.courier,
    location: config.snapshot.courier_location
  };

  function isFinal(status, refund) {
    if (ALWAYS_FINAL.indexOf(status) >= 0) return true;
    return REFUNDABLE_END.indexOf(status) >= 0 && SETTLED_REFUND.indexOf(refund) >= 0;
  }

  function clock(iso) {
    var date = new Date(iso);
    return isNaN(date) ? "" : date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }
  // An order for later: the time promised, in the reader's clock.
  var promised = document.querySelector("#promised time");
  if (promised) promised.textContent = clock(promised.getAttribute("datetime")) || promised.textContent;

  /* Events from the socket, the public events endpoint or the customer's history, in one shape. */
  function normalise(event) {
    var status = upper(event.new_status || event.status || null);
    var refund = upper(event.refund_status);
    if (!refund) {
      if (event.event_type === "order.refund_updated") refund = upper((event.metadata || {}).refund_status) || "NONE";
      else refund = status === "REFUND_COMPLETED" ? "COMPLETED" : "NONE";
    }
    return {
      sequence: event.sequence,
      eventType: event.event_type,
      status: status,
      refund: refund,
      at: event.timestamp || event.created_at,
      eta: event.estimated_delivery_time,
      courier: event.courier
    };
  }

  function stepFor(status) {
    for (var i = 0; i < config.steps.length; i += 1) {
      if (config.steps[i].statuses.indexOf(status) >= 0) return i;
    }
    return -1;
  }

  function markStep(status, at) {
    var index = stepFor(status);
    if (index < 0) {
      if (!status || timeline.querySelector('[data-outcome="' + status + '"]')) return;
      // An ending: the steps the order never reached are not drawn before it.
      timeline.querySelectorAll("[data-step]").forEach(function (step) {
        if (!step.classList.contains("is-done")) step.hidden = true;
        step.classList.remove("is-current");
        step.removeAttribute("aria-current");
      });
      var item = document.createElement("li");
      item.className = "step step-outcome is-done";
      item.setAttribute("data-outcome", status);
      item.innerHTML = '<span class="step-label"></span> <time></time>';
      item.querySelector(".step-label").textContent = STATUS_NAMES[status] || status;
      var time = item.querySelector("time");
      time.setAttribute("datetime", at || "");
      time.textContent = at ? clock(at) : "";
      timeline.appendChild(item);
      return;
    }
    var items = timeline.querySelectorAll("[data-step]");
    for (var i = 0; i <= index; i += 1) items[i].classList.add("is-done");
    var reached = items[index].querySelector("time");
    if (at && !reached.getAttribute("datetime")) {
      reached.setAttribute("datetime", at);
      reached.textContent = clock(at);
    }
    items.forEach(function (item, i) {
      item.classList.toggle("is-current", i === index);
      if (i === index) item.setAttribute("aria-current", "step");
      else item.removeAttribute("aria-current");
    });
  }

  function renderStatus() {
    var name = STATUS_NAMES[state.status] || state.status;
    if (statusEl.textContent !== name) statusEl.textContent = name;
    root.setAttribute("data-status", state.status);
    var final = isFinal(state.status, state.refund);
    finalEl.hidden = !final;
    if (final) finalEl.textContent = endingSentence();
    renderRefund();
    var showCourier = state.courier && !final;
    courierEl.hidden = !showCourier;
    if (showCourier) courierName.textContent = state.courier.first_name;
    var onRoad = ON_THE_ROAD.indexOf(state.status) >= 0;
    if (mapFigure) mapFigure.hidden = !(onRoad && state.location);
    if (map && onRoad && state.location) map.update(config.snapshot.restaurant, state.location, config.destination);
    renderEta();
    if (config.mode === "customer" && window.orderflowCustomer) window.orderflowCustomer.update(state.status, final);
  }

  var ENDINGS = {
    CANCELLED: "This order was cancelled.",
    RESTAURANT_REJECTED: "The restaurant could not take this order.",
    PAYMENT_FAILED: "The payment did not go through, so the order was not placed.",
    RETURNED: "This order was returned to the restaurant.",
    REFUND_COMPLETED: "This order was cancelled and the payment refunded."
  };

  function endingSentence() {
    if (state.status === "DELIVERED" || state.status === "COMPLETED") {
      return (isPickup ? "Collected" : "Delivered") + ". Enjoy your meal!";
    }
    return ENDINGS[state.status] || "This order has ended.";
  }

  function money(refund) {
    return refund ? Number(refund.amount).toFixed(2) + " " + refund.currency : "";
  }

  /* What happened to the money, in one sentence; the amount on the customer's own page only
     (a public link never shows prices). */
  function renderRefund() {
    var ended = REFUNDABLE_END.indexOf(state.status) >= 0 || state.status === "REFUND_COMPLETED";
    var refund = state.refund;
    var text = "";
    if (ended && refund && refund !== "NONE") {
      var amount = config.mode === "customer" ? money(refundRecord()) : "";
      var of = amount ? " of " + amount : "";
      if (refund === "COMPLETED") {
        text = amount ? "Refunded " + amount + " to the card you paid with." : "The payment was refunded in full.";
      } else if (refund === "FAILED") {
        text = "The refund" + of + " has not gone through yet; our team has been alerted and is retrying.";
      } else {
        text = "Refund" + of + " under way: it reaches the card you paid with in a few minutes.";
      }
    } else if (ended && state.status !== "RETURNED" && config.mode === "customer" && config.paymentMethod === "cod") {
      text = "Nothing was charged: this order was to be paid on delivery.";
    }
    refundEl.hidden = !text;
    refundEl.textContent = text;
    refundEl.setAttribute("data-refund", refund || "");
  }

  function refundRecord() {
    if (config.refund) return config.refund;
    return config.total || null; // the refund pays back what was paid
  }

  function minutesText(ms) {
    var minutes = Math.max(1, Math.round(ms / 60000));
    return minutes + (minutes === 1 ? " minute" : " minutes");
  }

  /* A sentence when the estimate moves, and why: the kitchen while the food is being made, the
     courier once it is on the road. */
  function noteEtaChange(before, after) {
    if (!before || !after) return;
    var shift = new Date(after) - new Date(before);
    if (Math.abs(shift) < 60000) return;
    var cause = KITCHEN.indexOf(state.status) >= 0 ? "the kitchen is busy" : "the courier is delayed";
    var text =
      shift > 0
        ? "New estimate " + clock(after) + ", " + minutesText(shift) + " later than before: " + cause + "."
        : "Good news: new estimate " + clock(after) + ", " + minutesText(-shift) + " earlier than before.";
    etaNote.textContent = text;
    etaNote.hidden = false;
    etaNote.setAttribute("data-shift", shift > 0 ? "later" : "earlier");
  }

  function setEta(eta) {
    if (eta === undefined || eta === state.eta) return;
    // Only a move the reader could have seen: not the history replayed, nor the first refresh.
    if (state.settled && state.eta && eta) noteEtaChange(state.eta, eta);
    state.eta = eta;
    state.lateEta = null;
  }

  /* The order's own estimate (its row, its events); a courier's position only refines `eta`. */
  function setPromised(eta) {
    if (eta === undefined) return;
    state.promised = eta;
    setEta(eta);
  }

  function renderEta() {
    var final = isFinal(state.status, state.refund);
    if (!state.eta || final) {
      etaEl.hidden = true;
      root.removeAttribute("data-late");
      return;
    }
    var now = Date.now();
    var left = Math.round((new Date(state.eta) - now) / 1000);
    var promisedPassed = state.promised && new Date(state.promised) <= now;
    etaEl.hidden = false;
    if (left <= 0 || promisedPassed) {
      // The estimate has passed: say so, with a new time, instead of "any minute now" forever.
      var newTime = state.eta;
      if (left <= 0) {
        if (!state.lateEta || new Date(state.lateEta) <= now) {
          state.lateEta = new Date(Math.max(new Date(state.eta).getTime(), now) + LATE_MARGIN_MS).toISOString();
        }
        newTime = state.lateEta;
      }
      root.setAttribute("data-late", "true");
      etaLabel.textContent = "Running late:";
      etaCountdown.textContent = (isPickup ? "ready by " : "now expected by ") + clock(newTime);
      etaClock.textContent = "(was " + clock(promisedPassed ? state.promised : state.eta) + ")";
    } else {
      root.removeAttribute("data-late");
      etaLabel.textContent = isPickup ? "Ready in" : "Arriving in";
      var minutes = Math.floor(left / 60);
      var seconds = left % 60;
      etaCountdown.textContent = minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
      etaClock.textContent = "(" + clock(state.eta) + ")";
    }
  }

  function applyEvent(raw) {
    var event = normalise(raw);
    if (event.status) {
      state.status = event.status;
      markStep(event.status, event.at);
    }
    state.refund = event.refund;
    if (event.eta !== undefined) setPromised(event.eta);
    if (event.courier !== undefined) state.courier = event.courier;
    else if (!replaying && config.mode === "customer" && event.eventType === "order.assigned") refreshCourier();
    if (!replaying) {
      if (ON_THE_ROAD.indexOf(state.status) < 0) state.location = null;
      else if (!state.location) refreshLocation();
    }
    if (!replaying && state.refund && state.refund !== "NONE") refreshRefund();
    root.setAttribute("data-sequence", String(feed.lastSequence));
    root.setAttribute("data-applied", feed.applied.join(","));
    renderStatus();
  }

  /* The courier's latest position when the order takes the road (later ones arrive live). */
  function refreshLocation() {
    if (config.mode === "public") {
      api(config.viewUrl).then(function (view) {
        if (view.courier_location && !state.location) applyLocation(view.courier_location);
      }, function () {});
      return;
    }
    api(config.etaUrl).then(function (eta) {
      var position = eta.delivery_person_location;
      if (position && !state.location) {
        state.location = { latitude: Number(position.latitude), longitude: Number(position.longitude) };
        renderStatus();
      }
    }, function () {});
  }

  /* The refund's amount, when the page learns of a refund it was not rendered with. */
  function refreshRefund() {
    if (config.mode !== "customer" || config.refund || refreshRefund.asked) return;
    refreshRefund.asked = true;
    api(config.detailUrl).then(function (order) {
      if (order.refund) {
        config.refund = { amount: order.refund.amount, currency: order.refund.currency, status: order.refund.status };
        renderStatus();
      }
    }, function () {});
  }

  function refreshCourier() {
    api(config.detailUrl).then(function (order) {
      var name = (order.delivery_person_name || "").split(" ")[0];
      state.courier = name ? { first_name: name } : null;
      renderStatus();
    }, function () {});
  }

  function applySnapshot(snapshot) {
    if (snapshot.courier !== undefined) state.courier = snapshot.courier;
    if (snapshot.estimated_delivery_time !== undefined) setPromised(snapshot.estimated_delivery_time);
    if (snapshot.courier_location !== undefined) {
      state.location = snapshot.courier_location;
      if (state.location && state.location.estimated_delivery_time) setEta(state.location.estimated_delivery_time);
    }
    state.settled = true;
    renderStatus();
  }

  function applyLocation(location) {
    state.location = location;
    if (location.estimated_delivery_time) setEta(location.estimated_delivery_time);
    renderStatus();
  }

  function poll(after) {
    if (config.mode === "public") {
      return api(config.statusUrl).then(function (status) {
        if (status.sequence <= after) return { status: status, final: status.final };
        return api(config.eventsUrl + "?after=" + after).then(function (body) {
          return { events: body.events, status: status, final: status.final };
        });
      });
    }
    return api(config.statusUrl).then(function (status) {
      if (status.sequence <= after) return { status: status };
      return api(config.historyUrl).then(function (body) {
        var events = body.history.filter(function (event) {
          return event.sequence > after;
        });
        return { events: events, status: status };
      });
    });
  }

  var feed = new window.orderflow.LiveFeed({
    socketPath: config.socketPath,
    lastSequence: 0,
    pollSeconds: config.pollSeconds,
    reconnectMaxSeconds: config.reconnectMaxSeconds,
    onEvent: applyEvent,
    onSnapshot: applySnapshot,
    onLocation: applyLocation,
    onStatus: function (status) {
      if (status.estimated_delivery_time !== undefined) setPromised(status.estimated_delivery_time);
      state.settled = true;
      if (status.refund_status) state.refund = upper(status.refund_status);
      renderStatus();
    },
    poll: poll,
    onState: function (name) {
      var labels = {
        live: "Live",
        reconnecting: "Reconnecting… (checking every " + config.pollSeconds + " s)",
        polling: "Checking every " + config.pollSeconds + " s",
        final: "Final",
        gone: "This link no longer works."
      };
      connectionEl.textContent = labels[name] || name;
      root.setAttribute("data-connection", name);
    },
    onGone: function () {
      finalEl.hidden = false;
      finalEl.textContent = "This tracking link no longer works.";
    }
  });

  // The page was rendered with every event so far: apply them, then follow from the last.
  config.events.forEach(function (event) {
    feed.receive(Object.assign({}, event, { type: "event" }));
  });
  replaying = false;
  // The order's row is newer than its events' snapshots of the estimate.
  setPromised(config.snapshot.estimated_delivery_time);
  if (state.location && state.location.estimated_delivery_time) setEta(state.location.estimated_delivery_time);
  renderStatus();
  window.setInterval(renderEta, 1000);
  if (isFinal(state.status, state.refund)) {
    feed.setState("final");
  } else {
    feed.start();
  }
  window.orderflowTracker = { feed: feed, state: state };
})();
