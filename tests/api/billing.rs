use api_tests::{spawn_app, unique_email};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{Duration, Utc};
use domain::account::{Subscription, SubscriptionStatus};
use serde_json::json;

#[tokio::test]
async fn plans_are_public_unarchived_and_sorted() {
    let app = spawn_app().await;
    let mut plans = app.seed_billing_catalogue().await;
    let mut archived = plans[0].clone();
    archived.plan = "legacy".into();
    archived.is_archived = true;
    archived.sort_order = 0;
    app.store().put_plan(&archived).await.unwrap();
    plans.push(archived);

    let reply = app.get("/v1/billing/plans", None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let names: Vec<&str> = reply.body.as_array().unwrap().iter().map(|p| p["plan"].as_str().unwrap()).collect();
    assert_eq!(names, ["starter", "pro", "team"]);
    assert_eq!(reply.body[1]["monthly_price_cents"], 4900);
    assert!(reply.body[0].get("stripe_monthly_price_id").is_none(), "Stripe ids stay server-side");
}

#[tokio::test]
async fn state_resolves_plan_defaults_under_account_overrides() {
    let app = spawn_app().await;
    app.seed_billing_catalogue().await;
    let session = app.register(&unique_email()).await;
    // pro defaults: psa_integration on, escalation_mode off. Override both ways.
    app.store()
        .client()
        .update_item()
        .table_name(app.store().table())
        .key("pk", AttributeValue::S(format!("ACCOUNT#{}", session.account_id)))
        .key("sk", AttributeValue::S("ACCOUNT".into()))
        .update_expression("SET feature_overrides = :o")
        .expression_attribute_values(
            ":o",
            AttributeValue::M(
                [("escalation_mode".to_owned(), AttributeValue::Bool(true)), ("analytics".to_owned(), AttributeValue::Bool(false))].into(),
            ),
        )
        .send()
        .await
        .unwrap();

    let reply = app.get("/v1/billing/state", Some(&session.access_token)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = &reply.body;
    assert_eq!(body["subscription"]["status"], "trialing");
    assert_eq!(body["subscription"]["plan"], "pro");
    assert_eq!(body["subscription"]["has_pro_entitlement"], true);
    assert_eq!(body["subscription"]["is_paid"], false, "a trial is not a paying customer");
    assert_eq!(body["subscription"]["seat_limit"], 1);
    assert_eq!(body["plan_billing"]["display_name"], "Pro");
    assert_eq!(body["plan_limits"]["max_seats"], 10);
    assert_eq!(body["enabled_features"], json!({"psa_integration": true, "escalation_mode": true, "analytics": false}));
}

#[tokio::test]
async fn state_of_a_complimentary_account_is_entitled_but_not_paid_and_each_sees_their_own() {
    let app = spawn_app().await;
    app.seed_billing_catalogue().await;
    let ada = app.register(&unique_email()).await;
    let eve = app.register(&unique_email()).await;
    let mut sub = Subscription::trial(&ada.account_id, Utc::now());
    sub.status = SubscriptionStatus::Complimentary;
    app.store().put_subscription(&sub).await.unwrap();
    let ada_state = app.get("/v1/billing/state", Some(&ada.access_token)).await;
    assert_eq!(ada_state.body["subscription"]["status"], "complimentary");
    assert_eq!(ada_state.body["subscription"]["is_paid"], false);
    assert_eq!(ada_state.body["subscription"]["has_pro_entitlement"], true);
    let eve_state = app.get("/v1/billing/state", Some(&eve.access_token)).await;
    assert_eq!(eve_state.body["subscription"]["status"], "trialing");
    app.get("/v1/billing/state", None).await.assert_error(401, "unauthorized");
}

#[tokio::test]
async fn sales_leads_are_recorded_and_bad_ones_refused() {
    let app = spawn_app().await;
    let email = unique_email();
    let reply = app
        .post(
            "/v1/sales-leads",
            &json!({"email": email, "name": "Ada", "company": "Acme", "team_size": "16-50", "source": "pricing_page"}),
            None,
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let leads = app.store().sales_leads_by_email(&email.to_uppercase()).await.unwrap();
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0].company, "Acme");
    for bad in [
        json!({"email": "nope", "name": "A", "company": "B", "source": "x"}),
        json!({"email": email, "name": "", "company": "B", "source": "x"}),
        json!({"email": email, "name": "A", "company": "B"}),
        json!({"email": email, "name": "A", "company": "B", "source": "x", "message": "m".repeat(5001)}),
        json!({"email": email, "name": "A", "company": "B", "source": "x", "priority": "high"}),
    ] {
        app.post("/v1/sales-leads", &bad, None).await.assert_error(422, "validation_failed");
    }
    assert_eq!(app.store().sales_leads_by_email(&email).await.unwrap().len(), 1);
}

#[tokio::test]
async fn pilot_backfill_is_idempotent_resumable_and_spares_canceled_and_past_due() {
    let app = spawn_app().await;
    let mut accounts = Vec::new();
    for _ in 0..5 {
        accounts.push(app.register(&unique_email()).await.account_id);
    }
    let set = |i: usize, status: SubscriptionStatus| {
        let mut sub = Subscription::trial(&accounts[i], Utc::now() - Duration::days(30));
        sub.status = status;
        sub
    };
    app.store().put_subscription(&set(1, SubscriptionStatus::Canceled)).await.unwrap();
    app.store().put_subscription(&set(2, SubscriptionStatus::PastDue)).await.unwrap();
    app.store().put_subscription(&set(3, SubscriptionStatus::Active)).await.unwrap();

    // An interrupted earlier run: its checkpoint is where the scan's first page
    // stopped, so the resumed run reads only the accounts after it (whatever item the
    // page ended on: DynamoDB's scan order is by hash, not by key).
    let first_page = app.store().account_page(None, 1).await.unwrap();
    app.store().save_backfill_checkpoint(first_page.resume_after.as_deref()).await.unwrap();
    let resumed = app::billing::backfill_pilot(&app.state, 2, false).await.unwrap();
    assert_eq!(resumed.scanned, 5 - first_page.account_ids.len(), "{resumed:?}");

    let full = app::billing::backfill_pilot(&app.state, 2, false).await.unwrap();
    assert_eq!(full.scanned, 5);
    let statuses = |app: &api_tests::TestApp| {
        let accounts = accounts.clone();
        let store = app.store().clone();
        async move {
            let mut out = Vec::new();
            for account in &accounts {
                out.push(store.subscription(account).await.unwrap().unwrap().status);
            }
            out
        }
    };
    use SubscriptionStatus::*;
    let after_first = statuses(&app).await;
    assert_eq!(after_first, [Complimentary, Canceled, PastDue, Complimentary, Complimentary]);
    assert_eq!(resumed.granted.len() + full.granted.len(), 3);

    let again = app::billing::backfill_pilot(&app.state, 2, false).await.unwrap();
    assert_eq!((again.scanned, again.granted.len(), again.unchanged), (5, 0, 5));
    assert_eq!(statuses(&app).await, after_first);
    assert_eq!(app.store().backfill_checkpoint().await.unwrap(), None);
}

/// A Scan page counts every item it evaluates and may end on any of them (a user, an
/// email claim, a subscription): whatever the page size, the backfill reads every
/// account once and ends.
#[tokio::test]
async fn pilot_backfill_reads_every_account_whatever_item_a_page_ends_on() {
    let app = spawn_app().await;
    for _ in 0..4 {
        app.register(&unique_email()).await;
    }
    for page_size in 1..=5 {
        let run = tokio::time::timeout(std::time::Duration::from_secs(30), app::billing::backfill_pilot(&app.state, page_size, false))
            .await
            .expect("the backfill ends")
            .unwrap();
        assert_eq!(run.scanned, 4, "page size {page_size}: {run:?}");
    }
}
