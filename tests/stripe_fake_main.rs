//! The Stripe fake on its own: `infra/run` uses it as the local Stripe (Checkout and
//! portal pages, signed webhook deliveries to `STRIPE_FAKE_WEBHOOK_URL`), `infra/fuzz`
//! as the server's Stripe. Prints `STRIPE_API_BASE=<url>` and serves until killed.

#[tokio::main]
async fn main() {
    adapters::install_tls_provider(); // reqwest (webhook deliveries) takes ring, as the app does
    let fake = api_tests::stripe_fake::StripeFake::start().await;
    if let Ok(url) = std::env::var("STRIPE_FAKE_WEBHOOK_URL") {
        fake.webhooks.deliver_to(url);
    }
    println!("STRIPE_API_BASE={}", fake.uri());
    std::future::pending::<()>().await;
}
