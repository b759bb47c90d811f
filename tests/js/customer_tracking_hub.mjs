// The customer tracking API's JavaScript client, as its document publishes it, run by
// tests/tracking/contracts/test_documented_clients.py against a live server with the real
// @microsoft/signalr package. Between the markers the code is the document's, with only the
// hub's base URL changed; around them, the test's harness: it supplies `accessToken` and
// `orderId`, prints what the connection receives (one JSON line each), and stops on "stop".
import * as readline from "node:readline";

const accessToken = process.env.ACCESS_TOKEN;
const orderId = process.env.ORDER_ID;
const report = (kind, body) => console.log(JSON.stringify({ kind, ...body }));

// ---------------------------------------------------------------- the document's code
import * as signalR from "@microsoft/signalr";
const connection = new signalR.HubConnectionBuilder()
  .withUrl(`${process.env.BASE_URL}/hubs/customer-orders`, {
    accessTokenFactory: () => accessToken
  })
  .withAutomaticReconnect()
  .build();

connection.on("ReceiveOrderStatusChanged", dto => {
  // Update UI based on dto.status, dto.estimatedDeliveryTime, etc.
});

// ---------------------------------------------------------------- harness: observe, before start
for (const method of ["ReceiveOrderPlaced", "ReceiveOrderPaymentSucceeded", "ReceiveOrderPaymentFailed", "ReceiveOrderStatusChanged"]) {
  connection.on(method, dto => report("event", { method, dto }));
}
connection.onclose(error => report("closed", { error: error ? String(error) : null }));

// ---------------------------------------------------------------- the document's code
await connection.start();
await connection.invoke("SubscribeToOrder", orderId);

// ---------------------------------------------------------------- harness
report("subscribed", { state: connection.state });
if (process.env.SECOND_ORDER_ID) {
  try {
    await connection.invoke("SubscribeToOrder", process.env.SECOND_ORDER_ID);
    report("second", { ok: true });
  } catch (error) {
    report("second", { ok: false, error: String(error.message) });
  }
}
const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line.trim() === "stop") break;
}
await connection.stop();
report("stopped", { state: connection.state });
lines.close();
process.exit(0);
