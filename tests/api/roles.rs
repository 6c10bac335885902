//! The role matrix of SPEC section 6, cell by cell: every role reads the account's
//! petitions and tasks and makes its own wills; owner, admin and engineer buy and edit
//! tasks; owner and admin invite; only the owner changes the account and billing.

use api_tests::{PASSWORD, Session, TestApp, unique_email};
use serde_json::json;

use crate::invites::{invite, invite_code};
use crate::petitions::{bought_petition, petition_app};
use crate::tasks::open_evidence_task;

async fn member(app: &TestApp, owner: &Session, role: &str) -> String {
    let email = unique_email();
    invite(app, owner, &email, role).await;
    let code = invite_code(app, &email).await;
    let joined = app
        .post("/v1/auth/register", &json!({"email": email, "password": PASSWORD, "name": role, "account_invite_code": code}), None)
        .await;
    assert_eq!(joined.status, 201, "{}", joined.body);
    joined.body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_cell_of_the_role_matrix() {
    let app = petition_app().await;
    app.seed_billing_catalogue().await;
    let owner = app.register(&unique_email()).await;
    let evidence = open_evidence_task(&app, &owner, "family-basic").await;
    let petition = bought_petition(&app, &owner, "family-basic", &[]).await;
    let members = [
        ("owner", owner.access_token.clone()),
        ("admin", member(&app, &owner, "admin").await),
        ("engineer", member(&app, &owner, "engineer").await),
        ("viewer", member(&app, &owner, "viewer").await),
    ];
    for (role, token) in &members {
        let t = Some(token.as_str());
        let status = |ok: bool| if ok { 200 } else { 403 };
        let (buys, invites, owns) = (*role != "viewer", matches!(*role, "owner" | "admin"), *role == "owner");

        // Read: everyone.
        assert_eq!(app.get(&format!("/v1/petitions/{petition}"), t).await.status, 200, "{role} reads petitions");
        assert_eq!(app.get(&format!("/v1/tasks/{evidence}"), t).await.status, 200, "{role} reads tasks");
        // Buy a petition, an add-on, an upgrade; edit a task.
        let checks = [
            (
                "buys a petition",
                app.post("/v1/petitions/initiate-checkout", &json!({"template_id": "family-petition", "plan_id": "family-basic"}), t).await,
            ),
            (
                "buys an add-on",
                app.post(&format!("/v1/petitions/{petition}/purchase-addons"), &json!({"benefit_ids": ["interview-coaching"]}), t).await,
            ),
            (
                "buys an upgrade",
                app.post(&format!("/v1/tasks/{evidence}/upgrade"), &json!({"task_model_id": "evidence-assisted"}), t).await,
            ),
            ("edits a task", app.patch(&format!("/v1/tasks/{evidence}/data"), &json!({"documents": ["a.pdf"]}), token).await),
        ];
        for (what, reply) in checks {
            assert_eq!(reply.status, status(buys), "{role} {what}: {}", reply.body);
            if !buys {
                reply.assert_error(403, "role_not_allowed");
            }
        }
        // Invite.
        let invited = app.post("/v1/accounts/me/invites", &json!({"email": unique_email(), "role": "viewer"}), t).await;
        assert_eq!(invited.status, if invites { 201 } else { 403 }, "{role} invites: {}", invited.body);
        // Account settings and billing: the owner only.
        let renamed = app.patch("/v1/accounts/me", &json!({"name": "Renamed"}), token).await;
        let subscribed = app.post("/v1/billing/checkout-session", &json!({"plan": "pro", "seats": 1}), t).await;
        for (what, reply) in [("changes the account", renamed), ("manages billing", subscribed)] {
            assert_eq!(reply.status, status(owns), "{role} {what}: {}", reply.body);
            if !owns {
                reply.assert_error(403, "owner_required");
            }
        }
        // Wills: anyone's own.
        assert_eq!(app.post_empty("/v1/wills", t).await.status, 201, "{role} makes a will");
    }
}
