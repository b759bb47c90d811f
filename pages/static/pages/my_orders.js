/* "My orders": each open order's state, refreshed from the lean status endpoint (the same one
   the apps poll) until it ends. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("orders-config").textContent);
  var api = window.orderflow.api;
  var open = config.orders.slice();

  function refresh() {
    open = open.filter(function (order) {
      var pill = document.querySelector('[data-order-status="' + order.id + '"]');
      if (!pill) return false;
      api(config.statusUrl.replace("{id}", order.id)).then(function (status) {
        var code = String(status.status || "").toUpperCase();
        pill.setAttribute("data-status", code);
        pill.textContent = config.statusNames[code] || status.status_name || code;
      }, function () {});
      return true;
    });
  }
  if (open.length) window.setInterval(refresh, Math.min(config.pollSeconds, 5) * 1000);
})();
