/* The signed-in customer's extras: the handoff code when it is theirs to show, cancelling while
   the rules allow it, and the public tracking link (copy, replace, revoke). Every change goes
   through the REST API, and so through the same services as the apps. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("tracker-config").textContent);
  var api = window.orderflow.api;
  var codeBox = document.getElementById("code");
  var codeValue = document.getElementById("code-value");
  var codeHint = document.getElementById("code-hint");
  var cancelBox = document.getElementById("cancel");
  var cancelForm = document.getElementById("cancel-form");
  var cancelOpen = document.getElementById("cancel-open");
  var notice = document.getElementById("notice");
  var linkBox = document.getElementById("link");
  var linkInput = document.getElementById("link-url");
  var shownCodeFor = null;

  function say(text) {
    notice.textContent = text;
  }

  function problem(error) {
    return (error && error.body && error.body.detail) || "Something went wrong; please try again.";
  }

  function codeTypeFor(status) {
    if (status === "OUT_FOR_DELIVERY") return "delivery";
    if (status === "READY_FOR_PICKUP" && config.snapshot.delivery_type === "pickup") return "pickup";
    return null;
  }

  function update(status, final) {
    var type = final ? null : codeTypeFor(status);
    if (!type) {
      codeBox.hidden = true;
      shownCodeFor = null;
    } else if (shownCodeFor !== status) {
      shownCodeFor = status;
      api(config.codeUrl + "?type=" + type).then(function (body) {
        codeValue.textContent = body.otp;
        codeHint.textContent =
          type === "delivery" ? "Give this code to your courier at the door." : "Show this code at the counter.";
        codeBox.hidden = false;
      }, function (error) {
        say(problem(error));
      });
    }
    cancelBox.hidden = final || config.cancellable.indexOf(status) < 0;
  }

  cancelOpen.addEventListener("click", function () {
    cancelForm.hidden = false;
    cancelOpen.hidden = true;
    cancelForm.querySelector("input").focus();
  });

  cancelForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var reason = cancelForm.querySelector("input").value.trim();
    var button = cancelForm.querySelector("button[type=submit]");
    button.disabled = true;
    api(config.cancelUrl, { method: "POST", body: { reason: reason } }).then(function () {
      say("Your order is cancelled.");
      cancelBox.hidden = true;
    }, function (error) {
      say(problem(error));
      button.disabled = false;
    });
  });

  document.getElementById("link-copy").addEventListener("click", function () {
    linkInput.select();
    if (navigator.clipboard) {
      navigator.clipboard.writeText(linkInput.value).then(function () { say("Link copied."); }, function () {});
    }
  });

  document.getElementById("link-renew").addEventListener("click", function () {
    api(config.linkUrl, { method: "POST" }).then(function (body) {
      linkInput.value = body.tracking_url;
      linkBox.setAttribute("data-state", "active");
      say("A new link was made; the old one no longer works.");
    }, function (error) {
      say(problem(error));
    });
  });

  document.getElementById("link-revoke").addEventListener("click", function () {
    api(config.linkUrl, { method: "DELETE" }).then(function () {
      linkInput.value = "";
      linkBox.setAttribute("data-state", "revoked");
      say("The tracking link no longer works.");
    }, function (error) {
      say(problem(error));
    });
  });

  window.orderflowCustomer = { update: update };
})();
