// The order-process API's JavaScript client ("Code Examples"), as its document publishes it,
// run by tests/tracking/contracts/test_documented_clients.py against a live server with
// Node's fetch. The document leaves `apiClient`, `orderId`, `pickupOTP` and `deliveryOTP` to
// the app; the harness before and after the markers supplies them: `apiClient` signs each
// request with the token of the role whose endpoint it is (the restaurant's for
// /api/restaurants/..., the courier's for the courier's actions, else the customer's), and
// reads each handoff code from whoever the system shows it to, as the app's users would.

const base = process.env.BASE_URL;
const tokens = JSON.parse(process.env.TOKENS);
const orderId = process.env.ORDER_ID;
let pickupOTP = null;
let deliveryOTP = null;

function tokenFor(path) {
  if (path.startsWith("/api/restaurants/")) return tokens.restaurant;
  if (/\/(available|pickup|start-delivery|complete-delivery)\/$/.test(path)) return tokens.courier;
  return tokens.customer;
}

async function call(method, path, body, token = tokenFor(path)) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json();
  console.log(JSON.stringify({ kind: "response", method, path, status: response.status }));
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(data)}`);
  return data;
}

const apiClient = {
  get: path => call("GET", path),
  async post(path, body) {
    const data = await call("POST", path, body);
    if (path.endsWith("/mark-ready/")) {
      pickupOTP = (await call("GET", `/api/orders/${orderId}/otp/?type=pickup`, undefined, tokens.restaurant)).otp;
    }
    if (path.endsWith("/start-delivery/")) {
      deliveryOTP = (await call("GET", `/api/orders/${orderId}/otp/?type=delivery`, undefined, tokens.customer)).otp;
    }
    return data;
  },
};

// ---------------------------------------------------------------- the document's code
// Order Service
class OrderService {
  constructor(apiClient) {
    this.api = apiClient;
  }

  // Get order details
  async getOrder(orderId) {
    return await this.api.get(`/api/orders/${orderId}/`);
  }

  // List orders
  async listOrders(filters = {}) {
    const params = new URLSearchParams(filters);
    return await this.api.get(`/api/orders/?${params}`);
  }

  // Cancel order
  async cancelOrder(orderId, reason) {
    return await this.api.post(`/api/orders/${orderId}/cancel/`, {
      reason
    });
  }

  // Get order history
  async getOrderHistory(orderId) {
    return await this.api.get(`/api/orders/${orderId}/history/`);
  }

  // Get order ETA
  async getOrderETA(orderId) {
    return await this.api.get(`/api/orders/${orderId}/eta/`);
  }

  // Get delivery OTP
  async getDeliveryOTP(orderId) {
    return await this.api.get(`/api/orders/${orderId}/otp/?type=delivery`);
  }
}

// Restaurant Service
class RestaurantService {
  constructor(apiClient) {
    this.api = apiClient;
  }

  // Get order queue
  async getOrderQueue() {
    return await this.api.get('/api/restaurants/orders/queue/');
  }

  // Confirm order
  async confirmOrder(orderId, estimatedPrepTime = 20) {
    return await this.api.post(`/api/restaurants/orders/${orderId}/confirm/`, {
      estimated_prep_time: estimatedPrepTime
    });
  }

  // Start preparing
  async startPreparing(orderId) {
    return await this.api.post(`/api/restaurants/orders/${orderId}/start-preparing/`);
  }

  // Mark ready
  async markReady(orderId) {
    return await this.api.post(`/api/restaurants/orders/${orderId}/mark-ready/`);
  }
}

// Delivery Service
class DeliveryService {
  constructor(apiClient) {
    this.api = apiClient;
  }

  // Get available orders
  async getAvailableOrders() {
    return await this.api.get('/api/orders/available/');
  }

  // Pickup order
  async pickupOrder(orderId, otp) {
    return await this.api.post(`/api/orders/${orderId}/pickup/`, {
      otp
    });
  }

  // Start delivery
  async startDelivery(orderId) {
    return await this.api.post(`/api/orders/${orderId}/start-delivery/`);
  }

  // Complete delivery
  async completeDelivery(orderId, otp, deliveryNotes) {
    return await this.api.post(`/api/orders/${orderId}/complete-delivery/`, {
      otp,
      delivery_notes: deliveryNotes
    });
  }
}

// Usage Example
const orderService = new OrderService(apiClient);

// Customer: Track order
const order = await orderService.getOrder(orderId);
console.log(`Order status: ${order.order_status}`);

// Restaurant: Process order
const restaurantService = new RestaurantService(apiClient);
await restaurantService.confirmOrder(orderId, 20);
await restaurantService.startPreparing(orderId);
await restaurantService.markReady(orderId);

// Delivery: Deliver order
const deliveryService = new DeliveryService(apiClient);
const availableOrders = await deliveryService.getAvailableOrders();
await deliveryService.pickupOrder(orderId, pickupOTP);
await deliveryService.startDelivery(orderId);
await deliveryService.completeDelivery(orderId, deliveryOTP, "Delivered successfully");

// ---------------------------------------------------------------- harness: what the client saw
const history = await orderService.getOrderHistory(orderId);
const eta = await orderService.getOrderETA(orderId);
console.log(JSON.stringify({ kind: "done", history: history.history.map(h => h.status), eta_status: eta.status, available: availableOrders }));
