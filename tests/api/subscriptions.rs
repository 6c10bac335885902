//! One subscription per account: one open subscription Checkout at a time, and a
//! second Stripe subscription that still gets paid refunded and canceled, once.

use api_tests::stripe_fake::{SECRET_KEY, event};
use api_tests::{Session, TestApp, spawn_app, unique_email};
use serde_json::{Value, json};

use crate::checkout_pages::{eventually, press};

async fn checkout(app: &TestApp, session: &Session, seats: u32) -> api_tests::Reply {
    let body = json!({"plan": "pro", "seats": seats, "billing_interval": "monthly"});
    app.post("/v1/billing/checkout-session", &body, Some(&session.access_token)).await
}

fn url(reply: &api_tests::Reply) -> String {
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["url"].as_str().unwrap().to_owned()
}

fn session_id(url: &str) -> &str {
    url.rsplit('/').next().unwrap()
}

#[tokio::test]
async fn identical_subscription_checkouts_share_one_session() {
    let app = spawn_app().await;
    app.seed_billing_catalogue().await;
    let ada = app.register(&unique_email()).await;
    let (a, b) = tokio::join!(checkout(&app, &ada, 3), checkout(&app, &ada, 3));
    let again = checkout(&app, &ada, 3).await;
    assert_eq!(url(&a), url(&b), "a double click gets one session");
    assert_eq!(url(&a), url(&again));
    let opened: Vec<Value> = app.stripe.sessions_opened().into_iter().filter(|s| s["mode"] == "subscription").collect();
    assert_eq!(opened.len(), 1, "Stripe opened one session: {opened:?}");
}

#[tokio::test]
async fn a_checkout_for_other_seats_expires_the_open_session_first() {
    let app = spawn_app().await;
    app.seed_billing_catalogue().await;
    let ada = app.register(&unique_email()).await;
    let first = url(&checkout(&app, &ada, 2).await);
    let (b, c) = tokio::join!(checkout(&app, &ada, 5), checkout(&app, &ada, 5));
    let second = url(&b);
    assert_eq!(second, url(&c));
    assert_ne!(first, second);
    let status = |id: &str| app.stripe.sessions_opened().into_iter().find(|s| s["id"] == id).unwrap()["status"].clone();
    assert_eq!(status(session_id(&first)), "expired", "the old session can no longer be paid");
    assert_eq!(status(session_id(&second)), "open");
    let page = app.http.get(&first).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("no longer open"), "{page}");
    let open: Vec<Value> = app.stripe.sessions_opened().into_iter().filter(|s| s["status"] == "open").collect();
    assert_eq!(open.len(), 1, "one payable session at a time: {open:?}");
}

#[tokio::test]
async fn a_checkout_whose_open_session_was_just_paid_is_refused() {
    let app = spawn_app().await;
    app.seed_billing_catalogue().await;
    let ada = app.register(&unique_email()).await;
    let first = url(&checkout(&app, &ada, 2).await);
    // Paid, its webhook still on the way: expiring it fails, and Stripe says it completed.
    app.stripe.complete_session_silently(session_id(&first));
    checkout(&app, &ada, 4).await.assert_error(409, "subscription_exists");
    assert_eq!(app.stripe.sessions_opened().len(), 1, "no second session");
}

#[tokio::test]
async fn after_a_paid_subscription_ends_a_new_checkout_opens_a_new_session() {
    let app = spawn_app().await;
    app.seed_billing_catalogue().await;
    let ada = app.register(&unique_email()).await;
    let t = Some(ada.access_token.as_str());
    let first = url(&checkout(&app, &ada, 2).await);
    press(&app, &first, "/pay", &[]).await;
    until(async || follows(&app, &ada).await.is_some()).await;
    let portal = app.post_empty("/v1/billing/portal-session", t).await;
    let sub = app.store().subscription(&ada.account_id).await.unwrap().unwrap().stripe_subscription_id.unwrap();
    press(&app, portal.body["url"].as_str().unwrap(), "/cancel", &[("subscription", sub.as_str())]).await;
    eventually(async || app.get("/v1/billing/state", t).await, |s| s["subscription"]["status"] == "canceled").await;
    let again = url(&checkout(&app, &ada, 2).await);
    assert_ne!(again, first, "the paid session is not offered again");
}

/// How the two sessions get paid.
#[derive(Clone, Copy, Debug)]
enum Payments {
    AppsSessionFirst,
    OtherSessionFirst,
    Concurrently,
}

/// A subscription Checkout session opened at Stripe outside this checkout (an older
/// release's tab, a payment link): the one-open-session rule never saw it.
async fn session_opened_elsewhere(app: &TestApp, customer: &str, seats: u32) -> String {
    let seats = seats.to_string();
    let form = [
        ("mode", "subscription"),
        ("customer", customer),
        ("line_items[0][price]", "price_demo_pro_monthly"),
        ("line_items[0][quantity]", seats.as_str()),
        ("success_url", "http://app.test/account/billing?success=1"),
        ("cancel_url", "http://app.test/account/billing/select-plan"),
    ];
    let reply = app.http.post(format!("{}/v1/checkout/sessions", app.stripe.uri())).bearer_auth(SECRET_KEY).form(&form).send().await;
    let session: Value = reply.unwrap().json().await.unwrap();
    session["url"].as_str().unwrap().to_owned()
}

async fn until(done: impl AsyncFn() -> bool) {
    for _ in 0..100 {
        if done().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("never came to pass");
}

async fn follows(app: &TestApp, shop: &Session) -> Option<String> {
    app.store().subscription(&shop.account_id).await.unwrap().unwrap().stripe_subscription_id
}

/// Two paid subscriptions of one account, in every order and with its trial running
/// or over: the account keeps the first, the second is refunded (what it charged) and
/// canceled once, even with the webhook redelivered and the reconciliation run.
#[tokio::test]
async fn a_second_paid_subscription_is_refunded_and_canceled_once() {
    let app = spawn_app().await;
    app.seed_billing_catalogue().await;
    for in_trial in [false, true] {
        for order in [Payments::AppsSessionFirst, Payments::OtherSessionFirst, Payments::Concurrently] {
            let case = format!("{order:?}, in trial: {in_trial}");
            let shop = app.register(&unique_email()).await;
            if !in_trial {
                let mut sub = app.store().subscription(&shop.account_id).await.unwrap().unwrap();
                sub.current_period_end = Some(chrono::Utc::now() - chrono::Duration::days(1));
                app.store().put_subscription(&sub).await.unwrap();
            }
            let ours = url(&checkout(&app, &shop, 2).await);
            let customer = app.store().account(&shop.account_id).await.unwrap().unwrap().stripe_customer_id.unwrap();
            let theirs = session_opened_elsewhere(&app, &customer, 3).await;
            // Paid, and its webhook applied: the account follows a Stripe subscription.
            let paid = async |url: &str| {
                press(&app, url, "/pay", &[]).await;
                until(async || follows(&app, &shop).await.is_some()).await;
            };
            match order {
                Payments::AppsSessionFirst => {
                    paid(&ours).await;
                    paid(&theirs).await;
                }
                Payments::OtherSessionFirst => {
                    paid(&theirs).await;
                    paid(&ours).await;
                }
                Payments::Concurrently => {
                    tokio::join!(paid(&ours), paid(&theirs));
                }
            }
            let canceled = || app.stripe.subscriptions_of(&customer).into_iter().filter(|s| s["status"] == "canceled").collect::<Vec<_>>();
            until(async || !canceled().is_empty()).await;
            // Stripe redelivers both checkouts' events; the reconciliation runs too.
            for session in app.stripe.sessions_opened().into_iter().filter(|s| s["customer"] == customer.as_str()) {
                let redelivery = event(&format!("evt_again_{}", session["id"].as_str().unwrap()), "checkout.session.completed", 1, session);
                assert_eq!(app.deliver_event(&redelivery).await.status, 200, "{case}");
            }
            let since = chrono::Utc::now() - chrono::Duration::hours(1);
            let report = app::reconcile::stripe(&app.state, since, false).await.unwrap();
            assert!(report.failed.is_empty(), "{case}: {report:?}");

            let subscriptions = app.stripe.subscriptions_of(&customer);
            assert_eq!(subscriptions.len(), 2, "{case}");
            let canceled = canceled();
            assert_eq!(canceled.len(), 1, "{case}: exactly one canceled: {subscriptions:?}");
            let kept = subscriptions.iter().find(|s| s["status"] != "canceled").unwrap();
            assert_eq!(follows(&app, &shop).await.as_deref(), kept["id"].as_str(), "{case}: the account follows the one kept");
            let first_paid = |session_url: &str| {
                let id = session_id(session_url);
                app.stripe.sessions_opened().into_iter().find(|s| s["id"] == id).unwrap()["subscription"].clone()
            };
            match order {
                Payments::AppsSessionFirst => assert_eq!(kept["id"], first_paid(&ours), "{case}"),
                Payments::OtherSessionFirst => assert_eq!(kept["id"], first_paid(&theirs), "{case}"),
                Payments::Concurrently => {}
            }
            let refunds: Vec<(String, i64)> = app
                .stripe
                .refunds_created()
                .into_iter()
                .filter(|(intent, _)| subscriptions.iter().any(|s| app.stripe.charge_of(s).is_some_and(|(i, _)| &i == intent)))
                .collect();
            match app.stripe.charge_of(&canceled[0]) {
                Some(charge) => assert_eq!(refunds, vec![charge], "{case}: the second one's charge refunded once"),
                None => assert!(in_trial && refunds.is_empty(), "{case}: a trial charges nothing, so nothing is refunded: {refunds:?}"),
            }
            let mails: Vec<_> =
                app.emails_to(&shop.email).await.into_iter().filter(|(subject, _)| subject.contains("second subscription")).collect();
            assert_eq!(mails.len(), 1, "{case}: {mails:?}");
        }
    }
}
