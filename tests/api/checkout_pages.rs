//! Every paid flow end to end through the Stripe fake's hosted pages, as a person with
//! a browser would go: open the Checkout URL, press "Pay" (a form post), get sent to
//! the success URL while the signed webhook events reach the API; then the result is
//! read back through the API. The portal page cancels a subscription.

use api_tests::{Reply, TestApp, spawn_app, unique_email};
use serde_json::{Value, json};

use crate::petitions::petition_app;
use crate::tasks::submit_root_form;
use crate::wills::verified_will;

/// Opens a hosted page and submits its form at `action` (as a browser, no JavaScript):
/// returns the redirect's location.
pub(crate) async fn press(app: &TestApp, page_url: &str, action: &str, fields: &[(&str, &str)]) -> String {
    let page = app.http.get(page_url).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200, "{page_url}");
    let html = page.text().await.unwrap();
    let form_action = html
        .split("action=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .find(|a| a.ends_with(action))
        .unwrap_or_else(|| panic!("no {action} form on {page_url}: {html}"));
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let posted = no_redirects.post(format!("{}{form_action}", app.stripe.uri())).form(fields).send().await.unwrap();
    assert_eq!(posted.status().as_u16(), 303);
    posted.headers()["location"].to_str().unwrap().to_owned()
}

/// Polls `read` until `done` holds (the webhook arrives shortly after "Pay").
pub(crate) async fn eventually(read: impl AsyncFn() -> Reply, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..100 {
        let reply = read().await;
        if done(&reply.body) {
            return reply.body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("never came to pass: {}", read().await.body);
}

pub(crate) async fn order_settles(app: &TestApp, token: &str, order: &str) -> Value {
    eventually(async || app.get(&format!("/v1/orders/{order}"), Some(token)).await, |o| o["status"] != "pending").await
}

#[tokio::test]
async fn a_will_bought_on_the_checkout_page_is_generated_and_downloadable() {
    let app = spawn_app().await;
    let ada = app.register(&unique_email()).await;
    let will = verified_will(&app, &ada).await;
    let checkout = app.post_empty(&format!("/v1/wills/{will}/checkout"), Some(&ada.access_token)).await;
    let (url, order) = (checkout.body["checkout_url"].as_str().unwrap(), checkout.body["order_id"].as_str().unwrap());
    let page = app.http.get(url).send().await.unwrap();
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let page = page.text().await.unwrap();
    assert!(page.contains("Will document") && page.contains("USD 99.00"), "{page}");

    let success = press(&app, url, "/pay", &[]).await;
    assert_eq!(success, format!("http://app.test/orders/{order}?paid=1"));
    assert_eq!(order_settles(&app, &ada.access_token, order).await["status"], "fulfilled");
    let read = app.get(&format!("/v1/wills/{will}"), Some(&ada.access_token)).await;
    assert_eq!(read.body["status"], "generated");
    let token = read.body["download_token"].as_str().unwrap();
    let pdf = app.http.get(format!("{}/v1/wills/{will}/download?token={token}", app.address)).send().await.unwrap();
    assert_eq!(pdf.status().as_u16(), 200);
}

#[tokio::test]
async fn a_subscription_bought_on_the_checkout_page_is_active_and_the_portal_cancels_it() {
    let app = spawn_app().await;
    app.seed_billing_catalogue().await;
    let ada = app.register(&unique_email()).await;
    let t = Some(ada.access_token.as_str());
    // Past the trial, the checkout charges at once (within it, Stripe's subscription
    // would be `trialing`).
    let mut trial = app.store().subscription(&ada.account_id).await.unwrap().unwrap();
    trial.current_period_end = Some(chrono::Utc::now() - chrono::Duration::hours(1));
    app.store().put_subscription(&trial).await.unwrap();
    let checkout = app.post("/v1/billing/checkout-session", &json!({"plan": "team", "seats": 3}), t).await;
    assert_eq!(checkout.status, 200, "{}", checkout.body);
    let cancel = press(&app, checkout.body["url"].as_str().unwrap(), "/cancel", &[]).await;
    assert_eq!(cancel, "http://app.test/account/billing/select-plan");
    press(&app, checkout.body["url"].as_str().unwrap(), "/pay", &[]).await;
    let state = eventually(async || app.get("/v1/billing/state", t).await, |s| s["subscription"]["status"] == "active").await;
    assert_eq!((state["subscription"]["plan"].as_str(), state["subscription"]["seat_limit"].as_u64()), (Some("team"), Some(3)));
    assert_eq!(state["subscription"]["is_paid"], true);

    let portal = app.post_empty("/v1/billing/portal-session", t).await;
    let portal_url = portal.body["url"].as_str().unwrap();
    let sub = app.store().subscription(&ada.account_id).await.unwrap().unwrap().stripe_subscription_id.unwrap();
    press(&app, portal_url, "/seats", &[("subscription", sub.as_str()), ("quantity", "5")]).await;
    eventually(async || app.get("/v1/billing/state", t).await, |s| s["subscription"]["seat_limit"] == 5).await;
    press(&app, portal_url, "/cancel", &[("subscription", sub.as_str())]).await;
    eventually(async || app.get("/v1/billing/state", t).await, |s| s["subscription"]["status"] == "canceled").await;
}

/// Stripe delivers events in any order and sometimes twice: a subscription bought with
/// its events newest first, each twice, ends the same, and the duplicates apply nothing.
#[tokio::test]
async fn a_subscription_whose_events_come_out_of_order_and_twice_ends_active_once() {
    let app = spawn_app().await;
    app.seed_billing_catalogue().await;
    app.stripe.webhooks.out_of_order_and_twice(true);
    let ada = app.register(&unique_email()).await;
    let t = Some(ada.access_token.as_str());
    let mut trial = app.store().subscription(&ada.account_id).await.unwrap().unwrap();
    trial.current_period_end = Some(chrono::Utc::now() - chrono::Duration::hours(1));
    app.store().put_subscription(&trial).await.unwrap();
    let checkout = app.post("/v1/billing/checkout-session", &json!({"plan": "team", "seats": 3}), t).await;
    press(&app, checkout.body["url"].as_str().unwrap(), "/pay", &[]).await;
    let state = eventually(async || app.get("/v1/billing/state", t).await, |s| s["subscription"]["status"] == "active").await;
    assert_eq!(state["subscription"]["seat_limit"], 3);
    // Both events arrived twice: four deliveries, each event recorded once.
    for _ in 0..50 {
        if app.all_items().await.iter().filter(|i| i["pk"].as_s().unwrap().starts_with("STRIPEEVENT#")).count() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let events = app.all_items().await.into_iter().filter(|i| i["pk"].as_s().unwrap().starts_with("STRIPEEVENT#")).count();
    assert_eq!(events, 2, "two events, each recorded once");
}

#[tokio::test]
async fn a_petition_an_add_on_and_an_upgrade_bought_on_the_checkout_page_are_delivered() {
    let app = petition_app().await;
    let ada = app.register(&unique_email()).await;
    let t = Some(ada.access_token.as_str());
    let body = json!({"template_id": "family-petition", "plan_id": "family-basic", "addon_benefit_ids": []});
    let petition_order = app.post("/v1/petitions/initiate-checkout", &body, t).await;
    press(&app, petition_order.body["checkout_url"].as_str().unwrap(), "/pay", &[]).await;
    order_settles(&app, &ada.access_token, petition_order.body["order_id"].as_str().unwrap()).await;
    app.run_task_worker().await;
    let petition = app.get("/v1/petitions", t).await.body[0]["id"].as_str().unwrap().to_owned();

    let addon = app.post(&format!("/v1/petitions/{petition}/purchase-addons"), &json!({"benefit_ids": ["interview-coaching"]}), t).await;
    press(&app, addon.body["checkout_url"].as_str().unwrap(), "/pay", &[]).await;
    assert_eq!(order_settles(&app, &ada.access_token, addon.body["order_id"].as_str().unwrap()).await["status"], "fulfilled");

    submit_root_form(&app, &ada, &petition).await;
    app.run_task_worker().await;
    let detail = app.get(&format!("/v1/petitions/{petition}"), t).await.body;
    let evidence = detail["tasks"].as_array().unwrap().iter().find(|t| t["document_type_preset_id"] == "evidence").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let upgrade = app.post(&format!("/v1/tasks/{evidence}/upgrade"), &json!({"task_model_id": "evidence-assisted"}), t).await;
    press(&app, upgrade.body["checkout_url"].as_str().unwrap(), "/pay", &[]).await;
    assert_eq!(order_settles(&app, &ada.access_token, upgrade.body["order_id"].as_str().unwrap()).await["status"], "fulfilled");
    assert_eq!(app.get(&format!("/v1/tasks/{evidence}"), t).await.body["task_model_id"], "evidence-assisted");
    let held: Vec<Value> = app.get(&format!("/v1/petitions/{petition}"), t).await.body["benefits"].as_array().unwrap().clone();
    assert!(held.iter().any(|b| b["benefit_id"] == "interview-coaching"));
}
