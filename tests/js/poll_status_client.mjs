// The poll-status API's JavaScript client ("Efficient polling pattern" and "Status change
// detection"), as its document publishes it (token spacing included), run by
// tests/tracking/contracts/test_documented_clients.py against a live server with Node's fetch.
// Between the markers only the base URL is changed. The harness supplies `token`, `orderId`
// and the app's `updateUI`, `needsFullDetails` and `fetchFullOrderDetails` (each prints what it
// is given), runs the document's 5 s interval ten times faster, and ends once the document's
// code has stopped polling.

const BASE_URL = process.env.BASE_URL;
const token = process.env.ACCESS_TOKEN;
const orderId = process.env.ORDER_ID;
const report = (kind, body) => console.log(JSON.stringify({ kind, ...body }));
const updateUI = order => report("ui", { order });
const needsFullDetails = data => data.orderStatus === "picked_up";
const fetchFullOrderDetails = async id => {
  const response = await fetch(`${BASE_URL}/api/orders/${id}/`, { headers: { Authorization: `Bearer ${token}` } });
  report("full", { order_status: (await response.json()).order_status });
};
const realSetInterval = globalThis.setInterval;
const realClearInterval = globalThis.clearInterval;
let stopped;
const pollingStopped = new Promise(resolve => { stopped = resolve; });
globalThis.setInterval = (callback, delay) => realSetInterval(callback, delay / 10);
globalThis.clearInterval = handle => { realClearInterval(handle); stopped(); };

// ---------------------------------------------------------------- the document's code
let pollInterval ;
let lastStatus ;
async function pollOrderStatus ( orderId ) {
const response = await fetch (
`${ BASE_URL }/api/orders/ ${ orderId } /poll-status` ,
{
headers: { 'Authorization' : `Bearer ${ token } ` }
}
);
const data = await response . json ();
const order = data . data ;
// Only update UI if status changed
if ( order . orderStatus !== lastStatus ) {
updateUI ( order );
lastStatus = order . orderStatus ;
}
// Stop polling for terminal states
if ( order . orderStatus === 'picked_up' || order . orderStatus === 'cancelled' ) {
clearInterval ( pollInterval );
}
}
// Start polling
pollInterval = setInterval (() => pollOrderStatus ( orderId ), 5000 );
// ---------------------------------------------------------------- the document's code
let lastUpdatedAt ;
async function checkForUpdates ( orderId ) {
const response = await fetch (
`${ BASE_URL }/api/orders/ ${ orderId } /poll-status` ,
{ headers: { 'Authorization' : `Bearer ${ token } ` } }
);
const { data } = await response . json ();
if ( data . updatedAt !== lastUpdatedAt ) {
console . log ( 'Order updated:' , data . orderStatus );
lastUpdatedAt = data . updatedAt ;
// Fetch full order details if needed
if ( needsFullDetails ( data )) {
fetchFullOrderDetails ( orderId );
}
}
}
// ---------------------------------------------------------------- harness
await pollingStopped;
report("stopped", { lastStatus });
await checkForUpdates(orderId);
await checkForUpdates(orderId);
await new Promise(resolve => setTimeout(resolve, 500));
process.exit(0);
