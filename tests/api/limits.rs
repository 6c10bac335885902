//! Plan limits from the billing catalogue are enforced where the thing is created
//! (seats: checkout, invite, join by invite; petitions per month; wills), with 402
//! `plan_limit_reached`; and one pending invitation per address, whatever the
//! concurrency.

use api_tests::{PASSWORD, TestApp, unique_email};
use serde_json::json;

use crate::invites::{invite, invite_code};
use crate::petitions::{bought_petition, checkout, petition_app};

/// Loads the billing catalogue with the trial's plan (`pro`) given these limits.
async fn pro_limits(app: &TestApp, seats: i64, petitions_per_month: i64, wills: i64) {
    for mut plan in app.seed_billing_catalogue().await {
        if plan.plan == "pro" {
            plan.limits = [("max_seats", seats), ("max_petitions_per_month", petitions_per_month), ("max_wills", wills)]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), Some(v)))
                .collect();
            app.store().put_plan(&plan).await.unwrap();
        }
    }
}

#[tokio::test]
async fn seats_are_limited_at_checkout_invite_and_join() {
    // The plan changes below: a function checks the catalogue's version on every read
    // (else it may serve the previous plan for up to its TTL, `app::catalogue`).
    let app = api_tests::spawn_app_with(|config| config.catalogue_ttl = std::time::Duration::ZERO).await;
    pro_limits(&app, 2, 10, 10).await;
    let owner = app.register(&unique_email()).await;
    let t = Some(owner.access_token.as_str());
    let over = app.post("/v1/billing/checkout-session", &json!({"plan": "pro", "seats": 3}), t).await;
    over.assert_error(402, "plan_limit_reached");
    assert_eq!((over.body["limit"].as_str(), over.body["max"].as_i64()), (Some("max_seats"), Some(2)));
    assert_eq!(app.post("/v1/billing/checkout-session", &json!({"plan": "pro", "seats": 2}), t).await.status, 200);

    // The owner and one pending invite fill two seats.
    let email = unique_email();
    invite(&app, &owner, &email, "engineer").await;
    app.post("/v1/accounts/me/invites", &json!({"email": unique_email(), "role": "viewer"}), t)
        .await
        .assert_error(402, "plan_limit_reached");

    // The plan shrinks before the invitee joins: joining would pass it.
    pro_limits(&app, 1, 10, 10).await;
    let code = invite_code(&app, &email).await;
    let join =
        app.post("/v1/auth/register", &json!({"email": email, "password": PASSWORD, "name": "E", "account_invite_code": code}), None).await;
    join.assert_error(402, "plan_limit_reached");
}

#[tokio::test]
async fn wills_are_limited_per_account() {
    let app = api_tests::spawn_app().await;
    pro_limits(&app, 10, 10, 2).await;
    let owner = app.register(&unique_email()).await;
    for _ in 0..2 {
        assert_eq!(app.post_empty("/v1/wills", Some(&owner.access_token)).await.status, 201);
    }
    app.post_empty("/v1/wills", Some(&owner.access_token)).await.assert_error(402, "plan_limit_reached");
}

#[tokio::test]
async fn petitions_are_limited_per_month() {
    let app = petition_app().await;
    pro_limits(&app, 10, 1, 10).await;
    let owner = app.register(&unique_email()).await;
    bought_petition(&app, &owner, "family-basic", &[]).await;
    checkout(&app, &owner, "family-premium", &[]).await.assert_error(402, "plan_limit_reached");
}

/// Twenty concurrent invitations to one address make one pending invite; once it is
/// revoked, the address can be invited again.
#[tokio::test]
async fn one_pending_invite_per_address() {
    let app = api_tests::spawn_app().await;
    let owner = app.register(&unique_email()).await;
    let email = unique_email();
    let body = json!({"email": email, "role": "viewer"});
    let replies = futures::future::join_all((0..20).map(|_| app.post("/v1/accounts/me/invites", &body, Some(&owner.access_token)))).await;
    let created: Vec<&api_tests::Reply> = replies.iter().filter(|r| r.status == 201).collect();
    assert_eq!(created.len(), 1, "{:?}", replies.iter().map(|r| (r.status, &r.body)).collect::<Vec<_>>());
    for reply in replies.iter().filter(|r| r.status != 201) {
        reply.assert_error(409, "invite_pending");
    }
    let id = created[0].body["id"].as_str().unwrap();
    let revoked =
        app.http.delete(format!("{}/v1/accounts/me/invites/{id}", app.address)).bearer_auth(&owner.access_token).send().await.unwrap();
    assert_eq!(revoked.status().as_u16(), 204);
    assert_eq!(app.post("/v1/accounts/me/invites", &body, Some(&owner.access_token)).await.status, 201);
}
