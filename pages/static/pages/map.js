/* The courier's position: the restaurant, the courier (with the trail of positions received)
   and, on the customer's own page only, their destination.

   With a tile source set (ORDERFLOW_MAP_TILE_URL) the page draws a real map with Leaflet
   (vendored in static/pages/vendor/leaflet); without one, the default, a plot drawn in SVG
   from the page's own data: no tiles, no third-party requests, works offline. */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var WIDTH = 320;
  var HEIGHT = 200;
  var PAD = 28;

  function node(name, attributes) {
    var element = document.createElementNS(NS, name);
    Object.keys(attributes).forEach(function (key) {
      element.setAttribute(key, attributes[key]);
    });
    return element;
  }

  function tiledMap(container, svg, settings) {
    var leaflet = window.L;
    container.hidden = false;
    svg.setAttribute("hidden", "");
    var map = leaflet.map(container, { zoomControl: true, attributionControl: true, scrollWheelZoom: false });
    leaflet.tileLayer(settings.tileUrl, { maxZoom: 19, attribution: settings.tileAttribution }).addTo(map);
    var trail = leaflet.polyline([], { className: "map-trail-line", color: "#c2410c", dashArray: "4 3" }).addTo(map);
    var layers = {};
    var placed = false;

    function marker(kind, point, label, radius) {
      var at = [point.latitude, point.longitude];
      if (!layers[kind]) {
        layers[kind] = leaflet
          .circleMarker(at, { radius: radius, className: "map-" + kind, weight: 2 })
          .bindTooltip(label, { permanent: true, direction: "right" })
          .addTo(map);
      } else {
        layers[kind].setLatLng(at);
      }
    }

    function update(restaurant, courier, destination) {
      trail.addLatLng([courier.latitude, courier.longitude]);
      marker("restaurant", restaurant, restaurant.name || "Restaurant", 6);
      if (destination) marker("destination", destination, "You", 6);
      marker("courier", courier, "Courier", 8);
      if (!placed) {
        var bounds = [[restaurant.latitude, restaurant.longitude], [courier.latitude, courier.longitude]];
        if (destination) bounds.push([destination.latitude, destination.longitude]);
        map.fitBounds(bounds, { padding: [24, 24], maxZoom: 16 });
        placed = true;
      }
      window.setTimeout(function () { map.invalidateSize(); }, 0);
    }

    return { update: update, kind: "tiles" };
  }

  window.orderflowMap = function (svg, settings, container) {
    if (!svg) return null;
    if (settings && settings.tileUrl && container && window.L) return tiledMap(container, svg, settings);
    var trail = [];

    function update(restaurant, courier, destination) {
      var last = trail[trail.length - 1];
      if (!last || last.latitude !== courier.latitude || last.longitude !== courier.longitude) {
        trail.push({ latitude: courier.latitude, longitude: courier.longitude });
        if (trail.length > 50) trail.shift();
      }
      var points = trail.concat([restaurant]);
      if (destination) points.push(destination);
      var lats = points.map(function (p) { return p.latitude; });
      var lons = points.map(function (p) { return p.longitude; });
      var midLat = (Math.min.apply(null, lats) + Math.max.apply(null, lats)) / 2;
      var scaleX = Math.cos((midLat * Math.PI) / 180);
      var minX = Math.min.apply(null, lons) * scaleX;
      var maxX = Math.max.apply(null, lons) * scaleX;
      var minY = Math.min.apply(null, lats);
      var maxY = Math.max.apply(null, lats);
      var span = Math.max(maxX - minX, maxY - minY, 0.002);
      var scale = Math.min((WIDTH - 2 * PAD) / span, (HEIGHT - 2 * PAD) / span);
      var offsetX = (WIDTH - (maxX - minX) * scale) / 2;
      var offsetY = (HEIGHT - (maxY - minY) * scale) / 2;
      function project(p) {
        return {
          x: offsetX + (p.longitude * scaleX - minX) * scale,
          y: HEIGHT - (offsetY + (p.latitude - minY) * scale)
        };
      }
      while (svg.firstChild) svg.removeChild(svg.firstChild);
      svg.appendChild(node("rect", { x: 0, y: 0, width: WIDTH, height: HEIGHT, class: "map-ground" }));
      if (trail.length > 1) {
        svg.appendChild(
          node("polyline", {
            class: "map-trail",
            points: trail.map(function (p) { var q = project(p); return q.x.toFixed(1) + "," + q.y.toFixed(1); }).join(" ")
          })
        );
      }
      function marker(p, kind, label) {
        var q = project(p);
        var group = node("g", { class: "map-marker map-" + kind, transform: "translate(" + q.x.toFixed(1) + " " + q.y.toFixed(1) + ")" });
        group.appendChild(node("circle", { r: kind === "courier" ? 8 : 6 }));
        var text = node("text", { x: 11, y: 4 });
        text.textContent = label;
        group.appendChild(text);
        svg.appendChild(group);
      }
      marker(restaurant, "restaurant", restaurant.name || "Restaurant");
      if (destination) marker(destination, "destination", "You");
      marker(courier, "courier", "Courier");
    }

    return { update: update, kind: "schematic" };
  };
})();
