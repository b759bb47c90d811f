/* A live feed for one page: a WebSocket that replays what it missed (`after=<last sequence>`),
   reconnects with exponential backoff and jitter, and, while the socket is down, polls the
   lean status every few seconds. Events are applied once, in sequence order, whichever way
   they came; everything stops after a final state. */
(function () {
  "use strict";

  function LiveFeed(options) {
    this.options = options;
    this.lastSequence = options.lastSequence || 0;
    this.attempt = 0;
    this.socket = null;
    this.reconnectTimer = null;
    this.pollTimer = null;
    this.stopped = false;
    this.applied = [];
  }

  LiveFeed.prototype.start = function () {
    if (typeof window.WebSocket !== "function") {
      this.setState("polling");
      this.startPolling();
      return;
    }
    this.connect();
  };

  LiveFeed.prototype.setState = function (state) {
    if (this.options.onState) this.options.onState(state);
  };

  LiveFeed.prototype.socketUrl = function () {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var path = this.options.socketPath;
    if (this.options.replay !== false) path += "?after=" + this.lastSequence;
    return scheme + window.location.host + path;
  };

  LiveFeed.prototype.connect = function () {
    var feed = this;
    if (feed.stopped) return;
    var socket;
    try {
      socket = new window.WebSocket(feed.socketUrl());
    } catch (error) {
      feed.socketLost();
      return;
    }
    feed.socket = socket;
    socket.onmessage = function (message) {
      var data;
      try {
        data = JSON.parse(message.data);
      } catch (error) {
        return;
      }
      if (data.type === "snapshot") {
        // The server answered: the socket works, so the backoff starts over and polling stops.
        feed.attempt = 0;
        feed.stopPolling();
        feed.setState("live");
      }
      feed.receive(data);
    };
    socket.onclose = function (event) {
      if (feed.socket === socket) feed.socket = null;
      if (feed.stopped) return;
      // 1000: the final event was sent; 4410: the order had ended before the socket opened.
      if (event.code === 1000 || event.code === 4410) {
        feed.finish();
      } else if (event.code === 4404 || event.code === 4401 || event.code === 4403) {
        feed.gone();
      } else {
        feed.socketLost();
      }
    };
  };

  LiveFeed.prototype.socketLost = function () {
    var feed = this;
    feed.setState("reconnecting");
    feed.startPolling();
    var ceiling = feed.options.reconnectMaxSeconds * 1000;
    var delay = Math.min(ceiling, 1000 * Math.pow(2, feed.attempt));
    delay = delay / 2 + Math.random() * (delay / 2);
    feed.attempt += 1;
    window.clearTimeout(feed.reconnectTimer);
    feed.reconnectTimer = window.setTimeout(function () {
      feed.connect();
    }, delay);
  };

  LiveFeed.prototype.receive = function (data) {
    if (data.type === "event") {
      // One order's feed counts its events; a restaurant's mixes orders (the server dedupes those).
      if (this.options.replay !== false && typeof data.sequence === "number") {
        if (data.sequence <= this.lastSequence) return;
        this.lastSequence = data.sequence;
        this.applied.push(data.sequence);
      }
      this.options.onEvent(data);
    } else if (data.type === "snapshot") {
      if (this.options.onSnapshot) this.options.onSnapshot(data);
    } else if (data.type === "kitchen_status") {
      if (this.options.onKitchenStatus) this.options.onKitchenStatus(data);
    } else if (data.type === "location") {
      if (this.options.onLocation) this.options.onLocation(data);
    }
  };

  LiveFeed.prototype.startPolling = function () {
    var feed = this;
    if (feed.pollTimer !== null || feed.stopped || !feed.options.poll) return;
    feed.pollTimer = window.setInterval(function () {
      feed.pollNow();
    }, feed.options.pollSeconds * 1000);
    feed.pollNow();
  };

  LiveFeed.prototype.stopPolling = function () {
    if (this.pollTimer !== null) window.clearInterval(this.pollTimer);
    this.pollTimer = null;
  };

  LiveFeed.prototype.pollNow = function () {
    var feed = this;
    if (feed.stopped) return;
    feed.options.poll(feed.lastSequence).then(
      function (result) {
        if (feed.stopped) return;
        (result.events || []).forEach(function (event) {
          feed.receive(Object.assign({ type: "event" }, event));
        });
        if (result.status && feed.options.onStatus) feed.options.onStatus(result.status);
        if (result.final) feed.finish();
      },
      function (error) {
        if (error && error.status === 404) feed.gone();
      }
    );
  };

  LiveFeed.prototype.halt = function () {
    this.stopped = true;
    this.stopPolling();
    window.clearTimeout(this.reconnectTimer);
    if (this.socket) this.socket.close();
  };

  LiveFeed.prototype.finish = function () {
    if (this.stopped) return;
    this.halt();
    this.setState("final");
    if (this.options.onFinal) this.options.onFinal();
  };

  LiveFeed.prototype.gone = function () {
    if (this.stopped) return;
    this.halt();
    this.setState("gone");
    if (this.options.onGone) this.options.onGone();
  };

  function HttpError(status) {
    this.status = status;
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  /* fetch JSON from our own API; a problem+json refusal rejects with its status and body. */
  function api(url, options) {
    options = options || {};
    var headers = Object.assign({ Accept: "application/json" }, options.headers || {});
    var init = { method: options.method || "GET", headers: headers, credentials: "same-origin" };
    if (init.method !== "GET") {
      headers["X-CSRFToken"] = csrfToken();
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.body || {});
    }
    return window.fetch(url, init).then(function (response) {
      if (response.status === 204 || response.status === 304) return null;
      return response.json().then(
        function (body) {
          if (!response.ok) {
            var error = new HttpError(response.status);
            error.body = body;
            throw error;
          }
          return body;
        },
        function () {
          throw new HttpError(response.status);
        }
      );
    });
  }

  window.orderflow = { LiveFeed: LiveFeed, api: api, HttpError: HttpError };
})();
