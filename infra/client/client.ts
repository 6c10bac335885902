// A front end's view of the API: every call typed from docs/openapi.json
// (openapi-typescript generates `schema.d.ts`; openapi-fetch checks paths, parameters,
// bodies and responses against it). No casts: where the document is wrong, this file
// does not compile (`tsc --strict`), and where the server differs from the document,
// it fails at run time.
//
// It signs up, buys a petition with an add-on, opens a subscription checkout, pays
// for a will and lists the orders, paying on the Stripe fake's hosted Checkout page
// as a browser would (a form post), whose signed webhooks reach the API.
//
// Usage: node client.js API_URL
import assert from "node:assert/strict";
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema.js";

type Order = components["schemas"]["OrderView"];

const api = createClient<paths>({ baseUrl: process.argv[2] });
let accessToken = "";
const bearer: Middleware = {
  onRequest({ request }) {
    if (accessToken) request.headers.set("Authorization", `Bearer ${accessToken}`);
    return request;
  },
};
api.use(bearer);

/// The response's data, or a failure naming the operation and the error body.
function ok<T>(what: string, reply: { data?: T; error?: unknown; response: Response }): T {
  assert.ok(reply.data !== undefined, `${what}: ${reply.response.status} ${JSON.stringify(reply.error)}`);
  return reply.data;
}

/// Presses "Pay" on a hosted Checkout page: finds its pay form and posts it.
async function pay(checkoutUrl: string): Promise<void> {
  const page = await (await fetch(checkoutUrl)).text();
  const action = page.match(/action="([^"]*\/pay)"/)?.[1];
  assert.ok(action, `no pay form on ${checkoutUrl}`);
  const posted = await fetch(new URL(action, checkoutUrl), { method: "POST", redirect: "manual" });
  assert.equal(posted.status, 303);
}

/// Reads the order until its webhook has been applied.
async function settled(orderId: string): Promise<Order> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const order = ok("get order", await api.GET("/v1/orders/{id}", { params: { path: { id: orderId } } }));
    if (order.status !== "pending") return order;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`order ${orderId} stayed pending`);
}

async function signUp(): Promise<void> {
  const email = `typed-client-${Date.now()}@example.com`;
  const tokens = ok("register", await api.POST("/v1/auth/register", { body: { email, password: "correct horse 9", name: "Ada" } }));
  accessToken = tokens.access_token;
  const me = ok("me", await api.GET("/v1/auth/me"));
  assert.equal(me.user.email, email);
}

async function buyPetitionWithAddOn(): Promise<string> {
  const templates = ok("templates", await api.GET("/v1/petition-templates"));
  const template = templates.find((t) => t.addon_benefit_ids.length > 0);
  assert.ok(template, "a template with add-ons");
  const params = { path: { template_id: template.id } };
  const [plan] = ok("plans", await api.GET("/v1/petition-templates/{template_id}/plans", { params }));
  assert.ok(plan, "a plan");
  const addons = ok(
    "add-ons",
    await api.GET("/v1/petition-templates/{template_id}/plans/{plan_id}/purchasable-addons", {
      params: { path: { template_id: template.id, plan_id: plan.id } },
    }),
  );
  const [addon] = addons;
  assert.ok(addon, "a purchasable add-on");
  const checkout = ok(
    "petition checkout",
    await api.POST("/v1/petitions/initiate-checkout", {
      body: { template_id: template.id, plan_id: plan.id, addon_benefit_ids: [addon.id] },
    }),
  );
  assert.equal(checkout.total_cents, plan.cost_cents + addon.cost_cents);
  if (checkout.checkout_url) await pay(checkout.checkout_url);
  assert.equal((await settled(checkout.order_id)).status, "fulfilled");
  const petitions = ok("petitions", await api.GET("/v1/petitions"));
  assert.equal(petitions.length, 1);
  return checkout.order_id;
}

async function openSubscriptionCheckout(): Promise<void> {
  const plans = ok("plans", await api.GET("/v1/billing/plans"));
  const plan = plans.find((p) => p.monthly_price_cents);
  assert.ok(plan, "a plan with a monthly price");
  const session = ok(
    "subscription checkout",
    await api.POST("/v1/billing/checkout-session", { body: { plan: plan.plan, seats: 1, billing_interval: "monthly" } }),
  );
  assert.match(session.url, /^http:\/\/127\.0\.0\.1:\d+\/checkout\//);
  // The document's error body, typed: a plan that does not exist.
  const refused = await api.POST("/v1/billing/checkout-session", { body: { plan: "no-such-plan", seats: 1 } });
  assert.ok(refused.error, "an unknown plan is refused");
  assert.equal(typeof refused.error.error, "string");
}

async function payForWill(): Promise<string> {
  const will = ok("create will", await api.POST("/v1/wills"));
  const sections: Array<[string, components["schemas"]["WillSectionBody"]]> = [
    ["personal", { full_name: "Ada Lovelace", date_of_birth: "1815-12-10", address: "12 St James's Square, London" }],
    ["family", { marital_status: "married", children: [{ full_name: "Byron King" }] }],
    ["executors", { executors: [{ full_name: "Mary Somerville" }] }],
    ["guardians", { guardians: [] }],
    ["gifts", { gifts: [{ item: "notes on the Analytical Engine", to: "Charles Babbage" }] }],
    ["residuary", { beneficiaries: [{ full_name: "Byron King" }] }],
    ["funeral", { wishes: "A quiet service." }],
  ];
  for (const [section, body] of sections) {
    ok(`section ${section}`, await api.PUT("/v1/wills/{id}/sections/{section}", { params: { path: { id: will.id, section } }, body }));
  }
  const path = { params: { path: { id: will.id } } };
  assert.equal(ok("verify", await api.POST("/v1/wills/{id}/verify", path)).status, "verified");
  const checkout = ok("will checkout", await api.POST("/v1/wills/{id}/checkout", path));
  assert.ok(checkout.checkout_url, "a will is paid on Checkout");
  await pay(checkout.checkout_url);
  assert.equal((await settled(checkout.order_id)).status, "fulfilled");
  const paid = ok("get will", await api.GET("/v1/wills/{id}", path));
  assert.equal(paid.status, "generated");
  assert.ok(paid.download_token, "a generated will has a download token");
  return checkout.order_id;
}

async function listOrders(bought: string[]): Promise<void> {
  const page = ok("orders", await api.GET("/v1/orders", { params: { query: { limit: 10 } } }));
  assert.deepEqual(page.orders.map((o) => o.id).sort(), [...bought].sort());
  assert.ok(page.orders.every((o) => o.status === "fulfilled"));
}

await signUp();
const petitionOrder = await buyPetitionWithAddOn();
await openSubscriptionCheckout();
const willOrder = await payForWill();
await listOrders([petitionOrder, willOrder]);
console.log("typed client: signed up, bought a petition with an add-on, opened a subscription checkout, paid a will, listed 2 orders");
