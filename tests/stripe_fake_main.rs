//! The Stripe fake on its own (for `infra/fuzz`, which runs the real server against
//! it): prints `STRIPE_API_BASE=<url>` and serves until killed.

#[tokio::main]
async fn main() {
    let fake = api_tests::stripe_fake::StripeFake::start().await;
    println!("STRIPE_API_BASE={}", fake.uri());
    std::future::pending::<()>().await;
}
