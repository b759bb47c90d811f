/* The courier's position as a plot drawn in SVG, from the page's own data: no map tiles, no
   third-party requests. The restaurant, the courier (with the trail of positions received)
   and, on the customer's own page only, their destination. */
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

  window.orderflowMap = function (svg) {
    if (!svg) return null;
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

    return { update: update };
  };
})();
