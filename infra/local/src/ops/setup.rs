//! The set-up and whole-table commands: resources, catalogues, demo data, the local
//! event tools, the pilot backfill and the Stripe reconciliation.

use std::io::Write;

use anyhow::Context;
use chrono::{DateTime, Utc};

use serde_json::json;

use super::{Ops, Output, dry_run_note, report};
use crate::demo::{DEMO_EMAIL, DEMO_MEMBER_EMAIL, DEMO_PASSWORD};

#[derive(serde::Deserialize)]
struct BillingCatalogue {
    plans: Vec<domain::billing::Plan>,
}

pub(super) async fn resources(ops: &Ops, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    let table = std::env::var("TABLE_NAME").context("TABLE_NAME")?;
    let queue = std::env::var("TASK_QUEUE_NAME").unwrap_or_else(|_| "tasks".to_owned());
    let from = std::env::var("EMAIL_FROM").context("EMAIL_FROM")?;
    let created = crate::setup::ensure_resources(&ops.sdk, &table, &queue, &from).await?;
    writeln!(out, "TASK_QUEUE_URL={}", created.task_queue_url)?;
    Ok(())
}

/// Puts every plan of the catalogue file (each put raises the catalogue's version, so
/// the functions' cached copies are read again).
pub(super) async fn seed_catalogue(ops: &Ops, path: Option<String>, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    let state = ops.state()?;
    let path = seed_path(path, "billing.json");
    let catalogue: BillingCatalogue = serde_json::from_str(&read(&path)?).with_context(|| format!("parsing {path}"))?;
    for plan in &catalogue.plans {
        state.store.put_plan(plan).await?;
    }
    ops.audit("seed-catalogue", &path, &(), &format!("{} plans", catalogue.plans.len())).await;
    writeln!(out, "billing catalogue: {} plans loaded from {path}", catalogue.plans.len())?;
    Ok(())
}

pub(super) async fn seed_petitions(ops: &Ops, path: Option<String>, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    let state = ops.state()?;
    let path = seed_path(path, "petitions.json");
    let written = crate::seed::load_petition_catalogue(&state, &read(&path)?).await.with_context(|| format!("loading {path}"))?;
    ops.audit("seed-petitions", &path, &(), &format!("{written} items")).await;
    writeln!(out, "petition catalogue: {written} items loaded from {path}")?;
    Ok(())
}

pub(super) async fn backfill_pilot(ops: &Ops, dry_run: bool, output: &Output, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    let summary = app::billing::backfill_pilot(&ops.state()?, 100, dry_run).await?;
    if !dry_run {
        for account_id in &summary.granted {
            ops.audit("backfill-pilot", account_id, &(), "complimentary").await;
        }
    }
    report(out, output, json!({"summary": summary, "dry_run": dry_run}), || {
        summary
            .granted
            .iter()
            .map(|id| format!("{} complimentary pro: account {id}\n", if dry_run { "would grant" } else { "granted" }))
            .collect::<String>()
            + &format!(
                "pilot backfill: {} accounts scanned, {} {}, {} unchanged (canceled, past due or complimentary already){}",
                summary.scanned,
                summary.granted.len(),
                if dry_run { "would be granted" } else { "granted" },
                summary.unchanged,
                dry_run_note(dry_run)
            )
    })
}

pub(super) async fn reconcile_stripe(
    ops: &Ops,
    since: DateTime<Utc>,
    dry_run: bool,
    output: &Output,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let reconciled = app::reconcile::stripe(&ops.state()?, since, dry_run).await?;
    if !dry_run {
        for (id, outcome) in &reconciled.fixed {
            ops.audit("reconcile-stripe", id, "missed", outcome).await;
        }
    }
    let json = json!({"sessions": reconciled.sessions, "fixed": reconciled.fixed, "failed": reconciled.failed, "dry_run": dry_run});
    report(out, output, json, || {
        reconciled
            .fixed
            .iter()
            .map(|(id, outcome)| format!("{}: {id}: {outcome}\n", if dry_run { "would fix" } else { "fixed" }))
            .collect::<String>()
            + &reconciled.failed.iter().map(|id| format!("failed: {id} (see the log; run again)\n")).collect::<String>()
            + &format!(
                "stripe reconciliation: {} completed sessions read, {} {}, {} failed{}",
                reconciled.sessions,
                reconciled.fixed.len(),
                if dry_run { "to fix" } else { "fixed" },
                reconciled.failed.len(),
                dry_run_note(dry_run)
            )
    })?;
    anyhow::ensure!(reconciled.failed.is_empty(), "some sessions or subscriptions could not be reconciled");
    Ok(())
}

pub(super) async fn event(ops: &Ops, name: &str, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    let event = crate::events::fresh(&ops.state()?, name.trim_end_matches(".json"))
        .await
        .with_context(|| format!("the events are {}", crate::events::names().unwrap_or_default().join(", ")))?;
    writeln!(out, "{}", serde_json::to_string_pretty(&event)?)?;
    Ok(())
}

pub(super) async fn seed_demo(ops: &Ops, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    let state = ops.state()?;
    let demo = crate::demo::seed(&state).await?;
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".to_owned());
    writeln!(out, "demo credentials: email={DEMO_EMAIL} password={DEMO_PASSWORD} (owner); {DEMO_MEMBER_EMAIL} (engineer, same password)")?;
    writeln!(
        out,
        "demo data: an active Pro subscription, petition {} (tasks appear once the worker runs), will {}",
        demo.petition_id, demo.will_id
    )?;
    if let Some(path) = &demo.download_path {
        writeln!(out, "the will's document: http://127.0.0.1:{port}{path}")?;
    }
    writeln!(
        out,
        "try next:\n  T=$(curl -s -XPOST localhost:{port}/v1/auth/login -H 'content-type: application/json' -d '{{\"email\":\"{DEMO_EMAIL}\",\"password\":\"{DEMO_PASSWORD}\"}}' | jq -r .access_token)\n  \
         curl -s localhost:{port}/v1/petitions/{}/tasks -H \"authorization: Bearer $T\" | jq '.[] | {{id, name, status}}'\n  \
         curl -s localhost:{port}/v1/orders -H \"authorization: Bearer $T\" | jq '.orders[] | {{kind, status, amount_cents}}'",
        demo.petition_id
    )?;
    Ok(())
}

/// Signs the event in `path` (a Function URL payload's `body`, or a bare event) with
/// `STRIPE_WEBHOOK_SECRET` as Stripe does, with a fresh id and `created`, and posts it
/// to the local server (`PORT`).
pub(super) async fn stripe_trigger(path: &str, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    let file: serde_json::Value = serde_json::from_str(&read(path)?)?;
    let mut event: serde_json::Value = match file.get("body").and_then(|b| b.as_str()) {
        Some(body) => serde_json::from_str(body)?,
        None => file,
    };
    event["id"] = serde_json::json!(format!("evt_local_{}", uuid::Uuid::new_v4().simple()));
    event["created"] = serde_json::json!(chrono::Utc::now().timestamp());
    let payload = event.to_string();
    let secret = std::env::var("STRIPE_WEBHOOK_SECRET").context("STRIPE_WEBHOOK_SECRET")?;
    let signature = stripe_signing::Webhook::generate_test_header(&payload, &secret, None);
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".to_owned());
    adapters::install_tls_provider();
    let response = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/webhooks/stripe"))
        .header("stripe-signature", signature)
        .header("content-type", "application/json")
        .body(payload)
        .send()
        .await?;
    writeln!(out, "{} {} -> {} {}", event["type"], event["id"], response.status(), response.text().await?)?;
    Ok(())
}

/// The catalogue file a seed command reads: PATH, or the repository's seed of that name.
fn seed_path(path: Option<String>, name: &str) -> String {
    path.unwrap_or_else(|| format!("{}/../seed/{name}", env!("CARGO_MANIFEST_DIR")))
}

fn read(path: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| path.to_owned())
}
