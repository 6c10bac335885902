// Clicks through one Checkout in headless Chromium against a running local stack
// (API at $API, the Stripe stand-in's hosted page), as a person would: the demo owner
// opens a petition checkout, sees what is bought, presses "Pay"; the order is then
// fulfilled through the webhook. Writes screenshots to $OUT.
//
// Usage: API=http://127.0.0.1:3000 OUT=docs node check.mjs
import { chromium } from 'playwright-core';

const api = process.env.API ?? 'http://127.0.0.1:3000';
const out = process.env.OUT ?? '.';
const json = async (response) => { if (!response.ok) throw new Error(`${response.url}: ${response.status} ${await response.text()}`); return response.json(); };
const post = (path, body, token) => fetch(`${api}${path}`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  body: JSON.stringify(body),
}).then(json);

const { access_token: token } = await post('/v1/auth/login', { email: 'demo@example.com', password: 'demo-password-1' });
const order = await post('/v1/petitions/initiate-checkout',
  { template_id: 'work-petition', plan_id: 'work-standard', addon_benefit_ids: [] }, token);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 800, height: 500 } });
  await page.goto(order.checkout_url);
  await page.screenshot({ path: `${out}/checkout-page.png` });
  const leaving = page.waitForRequest((request) => request.url().includes(`/orders/${order.order_id}`));
  await page.click('button:has-text("Pay")', { noWaitAfter: true });
  await leaving;
  let status = 'pending';
  for (let i = 0; i < 50 && status === 'pending'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    status = (await fetch(`${api}/v1/orders/${order.order_id}`, { headers: { authorization: `Bearer ${token}` } }).then(json)).status;
  }
  if (status !== 'fulfilled') throw new Error(`order ${order.order_id} is ${status} after paying`);
  console.log(`paid on the Checkout page: order ${order.order_id} ${status}; screenshot ${out}/checkout-page.png`);
} finally {
  await browser.close();
}
