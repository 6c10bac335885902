//! The product-route guards on a real product route (`GET /v1/wills`).

use api_tests::{spawn_app, unique_email};
use chrono::{Duration, Utc};
use domain::account::{Subscription, SubscriptionStatus};

#[derive(Clone, Copy, Debug)]
enum Email {
    Verified,
    InGrace,
    PastGrace,
}

#[tokio::test]
async fn guard_matrix_of_subscription_statuses_and_verification_grace() {
    let app = spawn_app().await;
    let session = app.register(&unique_email()).await;
    let now = Utc::now();
    use SubscriptionStatus::*;
    let subscriptions: Vec<(&str, Option<Subscription>, bool)> = vec![
        ("trial running", Some(sub(&session.account_id, Trialing, Some(now + Duration::days(3)))), true),
        ("trial ended", Some(sub(&session.account_id, Trialing, Some(now - Duration::hours(1)))), false),
        ("active", Some(sub(&session.account_id, Active, None)), true),
        ("past due", Some(sub(&session.account_id, PastDue, Some(now - Duration::days(2)))), true),
        ("complimentary", Some(sub(&session.account_id, Complimentary, None)), true),
        ("canceled", Some(sub(&session.account_id, Canceled, Some(now + Duration::days(3)))), false),
        ("incomplete", Some(sub(&session.account_id, Incomplete, None)), false),
        ("none", None, false),
    ];
    for (label, subscription, live) in subscriptions {
        set_subscription(&app, &session.account_id, subscription.as_ref()).await;
        for email in [Email::Verified, Email::InGrace, Email::PastGrace] {
            let (created, verified) = match email {
                Email::Verified => (now - Duration::days(30), Some(now - Duration::days(29))),
                Email::InGrace => (now - Duration::days(6), None),
                Email::PastGrace => (now - Duration::days(8), None),
            };
            app.set_user_verification(&session.user_id, created, verified).await;
            let before = app.all_items().await;
            let reply = app.get("/v1/wills", Some(&session.access_token)).await;
            let case = format!("{label} / {email:?}: {}", reply.body);
            match (live, email) {
                (false, _) if subscription.is_none() => {
                    reply.assert_error(402, "no_subscription");
                    assert_eq!(reply.body["upgrade_url"], "/account/billing/select-plan", "{case}");
                }
                (false, _) => {
                    reply.assert_error(402, "subscription_inactive");
                    let expected = subscription.as_ref().unwrap();
                    assert_eq!(reply.body["status"], serde_json::to_value(expected.status).unwrap(), "{case}");
                    assert_eq!(reply.body["plan"], "pro", "{case}");
                    assert!(reply.body.get("current_period_end").is_some(), "{case}");
                    assert_eq!(reply.body["upgrade_url"], "/account/billing/select-plan", "{case}");
                }
                (true, Email::PastGrace) => {
                    reply.assert_error(403, "email_not_verified");
                    assert_eq!(reply.body["resend_url"], "/v1/auth/email/send-verification", "{case}");
                    let ended: chrono::DateTime<Utc> = reply.body["grace_ended_at"].as_str().unwrap().parse().unwrap();
                    assert!((ended - (created + Duration::days(7))).num_seconds().abs() <= 1, "{case}");
                }
                (true, _) => assert_eq!(reply.status, 200, "{case}"),
            }
            assert_eq!(before, app.all_items().await, "the guard wrote: {case}");
        }
    }
}

#[tokio::test]
async fn allow_listed_routes_pass_whatever_the_subscription_and_grace() {
    let app = spawn_app().await;
    let session = app.register(&unique_email()).await;
    let expired = sub(&session.account_id, SubscriptionStatus::Trialing, Some(Utc::now() - Duration::days(1)));
    set_subscription(&app, &session.account_id, Some(&expired)).await;
    app.set_user_verification(&session.user_id, Utc::now() - Duration::days(30), None).await;

    assert_eq!(app.get("/v1/wills", Some(&session.access_token)).await.status, 402);
    for path in ["/v1/auth/me", "/v1/users/me", "/v1/billing/state"] {
        let reply = app.get(path, Some(&session.access_token)).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    }
    // The rest of the seed's allow-list: answered on their own terms, never by a guard.
    let posts = [
        ("/v1/auth/email/send-verification", None),
        ("/v1/billing/checkout-session", Some(serde_json::json!({"plan": "pro", "seats": 1}))),
        ("/v1/billing/portal-session", None),
    ];
    for (path, body) in posts {
        let reply = app.send(reqwest::Method::POST, path, body.as_ref(), Some(&session.access_token)).await;
        assert!(![402, 403].contains(&reply.status), "{path}: {} {}", reply.status, reply.body);
    }
    // Reading did not downgrade the expired trial.
    let stored = app.store().subscription(&session.account_id).await.unwrap().unwrap();
    assert_eq!(stored.status, SubscriptionStatus::Trialing);
    assert_eq!(stored, expired);
}

#[tokio::test]
async fn guarded_routes_need_a_valid_token() {
    let app = spawn_app().await;
    app.get("/v1/wills", None).await.assert_error(401, "unauthorized");
    app.get("/v1/wills", Some("junk")).await.assert_error(401, "unauthorized");
}

#[tokio::test]
async fn another_users_wills_are_not_listed() {
    let app = spawn_app().await;
    let ada = app.register(&unique_email()).await;
    let eve = app.register(&unique_email()).await;
    app.store()
        .client()
        .put_item()
        .table_name(app.store().table())
        .set_item(Some(
            [
                ("pk", format!("USER#{}", ada.user_id)),
                ("sk", "WILL#w1".to_owned()),
                ("id", "w1".to_owned()),
                ("status", "draft".to_owned()),
                ("current_section", "personal".to_owned()),
                ("created_at", Utc::now().to_rfc3339()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), aws_sdk_dynamodb::types::AttributeValue::S(v)))
            .chain([
                ("version".to_owned(), aws_sdk_dynamodb::types::AttributeValue::N("1".into())),
                ("paid_at".to_owned(), aws_sdk_dynamodb::types::AttributeValue::Null(true)),
            ])
            .collect(),
        ))
        .send()
        .await
        .unwrap();
    let mine = app.get("/v1/wills", Some(&ada.access_token)).await;
    assert_eq!(mine.body.as_array().unwrap().len(), 1, "{}", mine.body);
    let theirs = app.get("/v1/wills", Some(&eve.access_token)).await;
    assert_eq!(theirs.body, serde_json::json!([]));
}

fn sub(account_id: &str, status: SubscriptionStatus, end: Option<chrono::DateTime<Utc>>) -> Subscription {
    Subscription { status, current_period_end: end, ..Subscription::trial(account_id, Utc::now()) }
}

async fn set_subscription(app: &api_tests::TestApp, account_id: &str, subscription: Option<&Subscription>) {
    match subscription {
        Some(subscription) => app.store().put_subscription(subscription).await.unwrap(),
        None => {
            app.store()
                .client()
                .delete_item()
                .table_name(app.store().table())
                .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(format!("ACCOUNT#{account_id}")))
                .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("SUBSCRIPTION".into()))
                .send()
                .await
                .unwrap();
        }
    }
}

/// The guards sit on the petitions router too, answering with the same bodies.
#[tokio::test]
async fn petitions_are_guarded_and_scoped_to_the_account() {
    let app = spawn_app().await;
    let session = app.register(&unique_email()).await;
    let listed = app.get("/v1/petitions", Some(&session.access_token)).await;
    assert_eq!((listed.status, listed.body.clone()), (200, serde_json::json!([])));
    let canceled = sub(&session.account_id, SubscriptionStatus::Canceled, None);
    set_subscription(&app, &session.account_id, Some(&canceled)).await;
    app.get("/v1/petitions", Some(&session.access_token)).await.assert_error(402, "subscription_inactive");
    set_subscription(&app, &session.account_id, Some(&sub(&session.account_id, SubscriptionStatus::Active, None))).await;
    app.set_user_verification(&session.user_id, Utc::now() - Duration::days(9), None).await;
    app.get("/v1/petitions", Some(&session.access_token)).await.assert_error(403, "email_not_verified");
    app.get("/v1/petitions", None).await.assert_error(401, "unauthorized");
}
