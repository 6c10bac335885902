//! Operator commands.
//!
//! - `ops setup` — creates the table, the task queue (+ DLQ) and the sender identity if
//!   missing; prints `TASK_QUEUE_URL=...`.
//! - `ops seed-demo` — creates the demo owner account (idempotent) and prints its
//!   credentials.
//! - `ops seed-catalogue [billing.json]` — loads the billing catalogue (plans, prices,
//!   Stripe price ids, limits, feature defaults); default `infra/seed/billing.json`.
//! - `ops seed-petitions [petitions.json]` — loads the petition catalogue (templates,
//!   plans, benefits and their task effects, task models); default
//!   `infra/seed/petitions.json`. Validated whole first; every item is a plain put.
//! - `ops stripe-trigger <events/file.json>` — like `stripe trigger`: takes the Stripe
//!   event in the file (a Function URL payload's `body`, or a bare event), gives it a
//!   fresh id and `created`, signs it with `STRIPE_WEBHOOK_SECRET` exactly as Stripe
//!   does and posts it to the local server's `/webhooks/stripe` (`PORT`, default 3000).
//! - `ops backfill-pilot` — gives every account a complimentary Pro subscription
//!   unless canceled or past due; idempotent and resumable; prints what it changed.
//! - `ops event NAME` — prints the payload `events/NAME.json` made valid now against the
//!   local stack (a fresh token of the demo owner, the demo petition's id, a fresh
//!   Stripe signature), for `cargo lambda invoke FN --data-file`.
//! - `ops account show EMAIL|ACCOUNT_ID [--json]` — the account, members and roles,
//!   subscription and Stripe ids, plan limits, feature flags, last orders.
//! - `ops account set-feature ACCOUNT FLAG on|off|default [--dry-run] [--json]` — one
//!   feature flag's override for one account (`default`: the plan's value again);
//!   `ops account extend-trial ACCOUNT DAYS [--dry-run] [--json]` — the trial runs at least DAYS
//!   more days (running it again changes nothing more); `ops account grant-complimentary
//!   ACCOUNT` (the pilot rule for one account); `ops account deactivate USER`.
//! - `ops orders list [--status refund_failed|pending] [--since 4d] [--json]` — the
//!   orders in that status (a Scan: an operator's question, never a request's).
//! - `ops orders retry-refund ORDER_ID [--dry-run] [--json]` — puts a `refund_failed`
//!   order's payment through the one fulfilment path again (same idempotency key, same
//!   settle, same email); a no-op for any other order.
//! - `ops queue peek-dlq [--max N] [--json]`, `ops queue redrive [--max N] [--dry-run]
//!   [--json]` — lists the task queue's dead letters; moves them back to the queue.
//! - `ops stripe sync-prices [--apply] [--json]` — each plan's prices against Stripe's
//!   active prices by lookup key (`<plan>_monthly`, `<plan>_annual`); `--apply` writes
//!   Stripe's price ids. `ops stripe replay EVENT_ID | --since 2d [--dry-run] [--json]` —
//!   events fetched again from Stripe's Events API, applied through the webhook's path.
//! - `ops COMMAND --help` — what the command does and takes.
//! - `ops reconcile-stripe [--since 4d]` — reads the completed Checkout sessions of the
//!   window from Stripe and applies what the webhook missed (the `reconcile` function
//!   does it daily); prints what it fixed. Idempotent.

use anyhow::Context;

#[derive(serde::Deserialize)]
struct BillingCatalogue {
    plans: Vec<domain::billing::Plan>,
}

use local::demo::{DEMO_EMAIL, DEMO_PASSWORD};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let command = std::env::args().nth(1).unwrap_or_default();
    if std::env::args().skip(1).any(|a| a == "--help" || a == "-h") || command.is_empty() {
        println!("{}", usage(&command));
        return Ok(());
    }
    let sdk = adapters::aws::aws_config_loader().load().await;
    match command.as_str() {
        "setup" => {
            let table = std::env::var("TABLE_NAME").context("TABLE_NAME")?;
            let queue = std::env::var("TASK_QUEUE_NAME").unwrap_or_else(|_| "tasks".to_owned());
            let from = std::env::var("EMAIL_FROM").context("EMAIL_FROM")?;
            let created = local::setup::ensure_resources(&sdk, &table, &queue, &from).await?;
            println!("TASK_QUEUE_URL={}", created.task_queue_url);
        }
        "seed-demo" => {
            let state = app::AppState::new(adapters::config::Config::from_env()?, &sdk);
            let demo = local::demo::seed(&state).await?;
            let port = std::env::var("PORT").unwrap_or_else(|_| "3000".to_owned());
            println!(
                "demo credentials: email={DEMO_EMAIL} password={DEMO_PASSWORD} (owner); {} (engineer, same password)",
                local::demo::DEMO_MEMBER_EMAIL
            );
            println!(
                "demo data: an active Pro subscription, petition {} (tasks appear once the worker runs), will {}",
                demo.petition_id, demo.will_id
            );
            if let Some(path) = &demo.download_path {
                println!("the will's document: http://127.0.0.1:{port}{path}");
            }
            println!(
                "try next:\n  T=$(curl -s -XPOST localhost:{port}/v1/auth/login -H 'content-type: application/json' -d '{{\"email\":\"{DEMO_EMAIL}\",\"password\":\"{DEMO_PASSWORD}\"}}' | jq -r .access_token)\n  \
                 curl -s localhost:{port}/v1/petitions/{}/tasks -H \"authorization: Bearer $T\" | jq '.[] | {{id, name, status}}'\n  \
                 curl -s localhost:{port}/v1/orders -H \"authorization: Bearer $T\" | jq '.orders[] | {{kind, status, amount_cents}}'",
                demo.petition_id
            );
        }
        "openapi" => {
            println!("{}", local::openapi().to_pretty_json()?);
            return Ok(());
        }
        "seed-petitions" => {
            let state = app::AppState::new(adapters::config::Config::from_env()?, &sdk);
            let path = std::env::args().nth(2).unwrap_or_else(|| format!("{}/../seed/petitions.json", env!("CARGO_MANIFEST_DIR")));
            let json = std::fs::read_to_string(&path).with_context(|| path.clone())?;
            let written = local::seed::load_petition_catalogue(&state, &json).await.with_context(|| format!("loading {path}"))?;
            println!("petition catalogue: {written} items loaded from {path}");
        }
        "seed-catalogue" => {
            let state = app::AppState::new(adapters::config::Config::from_env()?, &sdk);
            let path = std::env::args().nth(2).unwrap_or_else(|| format!("{}/../seed/billing.json", env!("CARGO_MANIFEST_DIR")));
            let catalogue: BillingCatalogue = serde_json::from_str(&std::fs::read_to_string(&path).with_context(|| path.clone())?)
                .with_context(|| format!("parsing {path}"))?;
            for plan in &catalogue.plans {
                state.store.put_plan(plan).await?;
            }
            println!("billing catalogue: {} plans loaded from {path}", catalogue.plans.len());
        }
        "backfill-pilot" => {
            let state = app::AppState::new(adapters::config::Config::from_env()?, &sdk);
            let summary = app::billing::backfill_pilot(&state, 100).await?;
            for account_id in &summary.granted {
                println!("granted complimentary pro: account {account_id}");
            }
            println!(
                "pilot backfill: {} accounts scanned, {} granted, {} unchanged (canceled, past due or complimentary already)",
                summary.scanned,
                summary.granted.len(),
                summary.unchanged
            );
        }
        "stripe-trigger" => {
            let path = std::env::args().nth(2).with_context(|| usage("stripe-trigger"))?;
            let file: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).with_context(|| path.clone())?)?;
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
            println!("{} {} -> {} {}", event["type"], event["id"], response.status(), response.text().await?);
        }
        "reconcile-stripe" => {
            let state = app::AppState::new(adapters::config::Config::from_env()?, &sdk);
            let since = match (std::env::args().nth(2).as_deref(), std::env::args().nth(3)) {
                (Some("--since"), Some(window)) => parse_window(&window)?,
                (None, _) => app::reconcile::WINDOW,
                _ => anyhow::bail!("{}", usage("reconcile-stripe")),
            };
            let report = app::reconcile::stripe(&state, chrono::Utc::now() - since).await?;
            for (id, outcome) in &report.fixed {
                println!("fixed: {id}: {outcome}");
            }
            for id in &report.failed {
                println!("failed: {id} (see the log; run again)");
            }
            println!(
                "stripe reconciliation: {} completed sessions read, {} fixed, {} failed",
                report.sessions,
                report.fixed.len(),
                report.failed.len()
            );
            anyhow::ensure!(report.failed.is_empty(), "some sessions or subscriptions could not be reconciled");
        }
        "event" => {
            let state = app::AppState::new(adapters::config::Config::from_env()?, &sdk);
            let name = std::env::args()
                .nth(2)
                .with_context(|| format!("usage: ops event NAME (one of {})", local::events::names().unwrap_or_default().join(", ")))?;
            println!("{}", serde_json::to_string_pretty(&local::events::fresh(&state, name.trim_end_matches(".json")).await?)?);
            return Ok(());
        }
        "account" => {
            let args: Vec<String> = std::env::args().skip(2).collect();
            let state = app::AppState::new(adapters::config::Config::from_env()?, &sdk);
            let dry_run = args.iter().any(|a| a == "--dry-run");
            match (args.first().map(String::as_str), args.get(1), args.get(2), args.get(3)) {
                (Some("set-feature"), Some(account), Some(flag), Some(value)) => {
                    let value = match value.as_str() {
                        "on" => Some(true),
                        "off" => Some(false),
                        "default" => None,
                        other => anyhow::bail!("{other:?}: use on, off or default"),
                    };
                    let current = state.store.account(account).await?.with_context(|| format!("no account {account}"))?.feature_overrides;
                    let (before, after) = if dry_run {
                        let mut after = current.clone();
                        match value {
                            Some(on) => after.insert(flag.clone(), on),
                            None => after.remove(flag),
                        };
                        (current, after)
                    } else {
                        app::support::set_feature(&state, account, flag, value).await?
                    };
                    if !dry_run && before != after {
                        audit(&sdk, "account set-feature", account, &format!("{before:?}"), &format!("{after:?}")).await;
                    }
                    report(&args, serde_json::json!({"account_id": account, "before": before, "after": after, "dry_run": dry_run}), || {
                        format!("account {account}: feature {flag}: {:?} -> {:?}", before.get(flag.as_str()), after.get(flag.as_str()))
                    });
                }
                (Some("extend-trial"), Some(account), Some(days), _) => {
                    let days: i64 = days.parse().context("DAYS is a whole number")?;
                    let (before, after) = app::support::extend_trial(&state, account, days, dry_run).await?;
                    if !dry_run && before != Some(after) {
                        audit(&sdk, "account extend-trial", account, &format!("{before:?}"), &after.to_rfc3339()).await;
                    }
                    report(&args, serde_json::json!({"account_id": account, "before": before, "after": after, "dry_run": dry_run}), || {
                        format!("account {account}: trial {} {after} (was {before:?})", if dry_run { "would end" } else { "ends" })
                    });
                }
                (Some("show"), Some(who), _, _) => {
                    let summary = app::support::account_summary(&state, who).await?;
                    let json = serde_json::to_value(&summary)?;
                    report(&args, json.clone(), || serde_json::to_string_pretty(&json).unwrap_or_default());
                }
                (Some("grant-complimentary"), Some(account), _, _) => {
                    let before = state.store.subscription(account).await?.map(|s| s.status);
                    let granted = !dry_run && app::billing::grant_complimentary(&state, account).await?;
                    if granted {
                        audit(&sdk, "account grant-complimentary", account, &format!("{before:?}"), "complimentary").await;
                    }
                    report(
                        &args,
                        serde_json::json!({"account_id": account, "before": before, "granted": granted, "dry_run": dry_run}),
                        || format!("account {account}: {before:?} -> {}", if granted { "complimentary" } else { "unchanged" }),
                    );
                }
                (Some("deactivate"), Some(user), _, _) => {
                    let deactivated = !dry_run && app::support::deactivate_user(&state, user).await?;
                    if deactivated {
                        audit(&sdk, "account deactivate", user, "active", "deactivated").await;
                    }
                    report(&args, serde_json::json!({"user_id": user, "deactivated": deactivated, "dry_run": dry_run}), || {
                        format!("user {user}: {}", if deactivated { "deactivated" } else { "unchanged" })
                    });
                }
                _ => anyhow::bail!("{}", usage("account")),
            }
        }
        "orders" => {
            let args: Vec<String> = std::env::args().skip(2).collect();
            if args.first().map(String::as_str) == Some("list") {
                let status = match args.windows(2).find(|w| w[0] == "--status").map(|w| w[1].as_str()).unwrap_or("refund_failed") {
                    "refund_failed" => domain::order::OrderStatus::RefundFailed,
                    "pending" => domain::order::OrderStatus::Pending,
                    other => anyhow::bail!("--status {other:?}: use refund_failed or pending"),
                };
                let since = args.windows(2).find(|w| w[0] == "--since").map(|w| parse_window(&w[1])).transpose()?;
                let state = app::AppState::new(adapters::config::Config::from_env()?, &sdk);
                let cutoff = since.map(|window| chrono::Utc::now() - window);
                let orders: Vec<_> =
                    state.store.orders_in_status(status).await?.into_iter().filter(|o| cutoff.is_none_or(|c| o.created_at >= c)).collect();
                let rows: Vec<serde_json::Value> = orders
                    .iter()
                    .map(|o| serde_json::json!({"order_id": o.id, "kind": o.item.kind(), "account_id": o.account_id, "amount_cents": o.amount_cents, "created_at": o.created_at, "refund": o.refund}))
                    .collect();
                report(&args, serde_json::json!({"orders": rows}), || {
                    orders
                        .iter()
                        .map(|o| format!("{} {} {} {} {}\n", o.created_at.to_rfc3339(), o.id, o.item.kind(), o.account_id, o.amount_cents))
                        .collect::<String>()
                        + &format!("{} orders {status:?}", orders.len())
                });
                return Ok(());
            }
            let (Some("retry-refund"), Some(order_id)) = (args.first().map(String::as_str), args.get(1)) else {
                anyhow::bail!("{}", usage("orders"));
            };
            let state = app::AppState::new(adapters::config::Config::from_env()?, &sdk);
            let order = state.store.order(order_id).await?.with_context(|| format!("no order {order_id}"))?;
            let outcome = if args.iter().any(|a| a == "--dry-run") {
                "dry_run"
            } else {
                let outcome = app::fulfilment::retry_refund(&state, order_id).await?;
                audit(&sdk, "orders retry-refund", order_id, &format!("{:?}", order.status), outcome).await;
                outcome
            };
            let after = state.store.order(order_id).await?.map(|o| o.status);
            report(&args, serde_json::json!({"order_id": order_id, "before": order.status, "after": after, "outcome": outcome}), || {
                format!("order {order_id}: {:?} -> {:?} ({outcome})", order.status, after.unwrap_or(order.status))
            });
        }
        "queue" => {
            let args: Vec<String> = std::env::args().skip(2).collect();
            let queue_url = std::env::var("TASK_QUEUE_URL").context("TASK_QUEUE_URL")?;
            let sqs = aws_sdk_sqs::Client::new(&sdk);
            let dlq_url = local::queue_ops::dlq_url_of(&sqs, &queue_url).await?;
            let max = args.windows(2).find(|w| w[0] == "--max").map(|w| w[1].parse()).transpose().context("--max N")?.unwrap_or(10);
            match args.first().map(String::as_str) {
                Some("peek-dlq") => {
                    let letters = local::queue_ops::peek(&sqs, &dlq_url, i32::try_from(max).unwrap_or(10)).await?;
                    report(&args, serde_json::json!({"dead_letters": letters}), || {
                        letters.iter().map(|l| format!("{}: {}\n", l.message_id, l.body)).collect::<String>()
                            + &format!("{} dead letters", letters.len())
                    });
                }
                Some("redrive") => {
                    let dry_run = args.iter().any(|a| a == "--dry-run");
                    let moved = local::queue_ops::redrive(&sqs, &dlq_url, &queue_url, max, dry_run).await?;
                    if !dry_run {
                        for letter in &moved {
                            audit(&sdk, "queue redrive", &letter.message_id, "dead-lettered", "back on the task queue").await;
                        }
                    }
                    report(&args, serde_json::json!({"moved": moved, "dry_run": dry_run}), || {
                        format!("{} {} dead letters to the task queue", if dry_run { "would move" } else { "moved" }, moved.len())
                    });
                }
                _ => anyhow::bail!("{}", usage("queue")),
            }
        }
        "stripe" => {
            let args: Vec<String> = std::env::args().skip(2).collect();
            let state = app::AppState::new(adapters::config::Config::from_env()?, &sdk);
            let dry_run = args.iter().any(|a| a == "--dry-run");
            match (args.first().map(String::as_str), args.get(1)) {
                (Some("sync-prices"), _) => {
                    let apply = args.iter().any(|a| a == "--apply");
                    let (drifts, written) = app::support::sync_prices(&state, apply).await?;
                    for plan in &written {
                        audit(&sdk, "stripe sync-prices", plan, "catalogue price ids", "Stripe's price ids").await;
                    }
                    report(&args, serde_json::json!({"differences": drifts, "written": written, "applied": apply}), || {
                        drifts
                            .iter()
                            .map(|d| {
                                format!("{} {}: {} catalogue {:?}, Stripe {:?}\n", d.plan, d.lookup_key, d.field, d.catalogue, d.stripe)
                            })
                            .collect::<String>()
                            + &format!(
                                "{} differences; {} plans written{}",
                                drifts.len(),
                                written.len(),
                                if apply { "" } else { " (run with --apply to write the price ids)" }
                            )
                    });
                }
                (Some("replay"), Some(first)) => {
                    let since = match (first.as_str(), args.get(2)) {
                        ("--since", Some(window)) => Some(chrono::Utc::now() - parse_window(window)?),
                        (id, _) if id.starts_with("evt_") => None,
                        _ => anyhow::bail!("{}", usage("stripe")),
                    };
                    if let Some(since) = since {
                        app::webhook::check_replay_window(since)?;
                    }
                    if dry_run {
                        let payloads = match since {
                            Some(since) => state.payments.events_since(since.timestamp()).await?,
                            None => vec![state.payments.event(first).await?],
                        };
                        let listed: Vec<_> =
                            payloads.iter().filter_map(|p| adapters::payments::events::parse(p).ok()).map(|e| (e.id, e.type_)).collect();
                        report(&args, serde_json::json!({"would_replay": listed, "dry_run": true}), || {
                            listed.iter().map(|(id, kind)| format!("{id} {kind}\n")).collect::<String>()
                                + &format!("would replay {} events (already applied ones stay no-ops)", listed.len())
                        });
                        return Ok(());
                    }
                    let replayed = match since {
                        Some(since) => app::webhook::replay_since(&state, since).await?,
                        None => vec![app::webhook::replay_event(&state, first).await?],
                    };
                    for event in replayed.iter().filter(|r| r.applied) {
                        audit(&sdk, "stripe replay", &event.event_id, "not applied", event.outcome).await;
                    }
                    report(&args, serde_json::json!({"replayed": replayed}), || {
                        replayed
                            .iter()
                            .map(|r| {
                                format!(
                                    "{} {}: {}{}\n",
                                    r.event_id,
                                    r.event_type,
                                    r.outcome,
                                    if r.applied { "" } else { " (already applied)" }
                                )
                            })
                            .collect::<String>()
                            + &format!("{} events replayed, {} applied now", replayed.len(), replayed.iter().filter(|r| r.applied).count())
                    });
                }
                _ => anyhow::bail!("{}", usage("stripe")),
            }
        }
        other => anyhow::bail!(
            "unknown command {other:?}; use setup | seed-demo | openapi | seed-catalogue | seed-petitions | stripe-trigger | backfill-pilot | reconcile-stripe | event | account | orders | queue | stripe (each takes --help)"
        ),
    }
    Ok(())
}

/// What a command does and takes (`ops COMMAND --help`, and the error of a bad call).
fn usage(command: &str) -> &'static str {
    match command {
        "setup" => "ops setup\n  Creates the table, the task queue (+ DLQ) and the sender identity if missing; prints TASK_QUEUE_URL=...",
        "seed-demo" => "ops seed-demo\n  Creates the demo accounts and their data (idempotent) and prints the credentials.",
        "openapi" => "ops openapi\n  Prints the OpenAPI document (docs/openapi.json is this output).",
        "seed-catalogue" => {
            "ops seed-catalogue [billing.json]\n  Loads the billing catalogue (plans, prices, Stripe price ids, limits, feature defaults)."
        }
        "seed-petitions" => "ops seed-petitions [petitions.json]\n  Loads the petition catalogue, validated whole first.",
        "stripe-trigger" => {
            "ops stripe-trigger <events/file.json>\n  Signs the event as Stripe does and posts it to the local server's /webhooks/stripe."
        }
        "backfill-pilot" => {
            "ops backfill-pilot\n  Gives every account a complimentary Pro subscription unless canceled or past due; resumable."
        }
        "reconcile-stripe" => {
            "ops reconcile-stripe [--since 4d]\n  Applies the completed Checkout sessions and subscription changes the webhook missed."
        }
        "event" => "ops event NAME\n  Prints events/NAME.json made valid now against the local stack.",
        "account" => {
            "ops account show EMAIL|ACCOUNT_ID [--json]              the account, members, subscription, limits, flags, last orders\n\
             ops account set-feature ACCOUNT FLAG on|off|default [--dry-run] [--json]   one flag's override for one account\n\
             ops account extend-trial ACCOUNT DAYS [--dry-run] [--json]   the trial runs at least DAYS more days (at most 90)\n\
             ops account grant-complimentary ACCOUNT [--dry-run] [--json]   the pilot rule for one account\n\
             ops account deactivate USER [--dry-run] [--json]        every request with the user's tokens is then refused"
        }
        "orders" => {
            "ops orders list [--status refund_failed|pending] [--since 4d] [--json]   the orders in that status\n\
             ops orders retry-refund ORDER_ID [--dry-run] [--json]   a refund_failed order's refund again, through the fulfilment path"
        }
        "queue" => {
            "ops queue peek-dlq [--max N] [--json]                   the task queue's dead letters, left in place\n\
             ops queue redrive [--max N] [--dry-run] [--json]        moves dead letters back to the task queue"
        }
        "stripe" => {
            "ops stripe sync-prices [--apply] [--json]               compares each plan's prices with Stripe's (lookup keys <plan>_monthly,\n\
             \x20                                                        <plan>_annual); --apply writes Stripe's price ids into the catalogue\n\
             ops stripe replay EVENT_ID | --since 4d [--dry-run] [--json]   applies events again from Stripe's Events API (30 days)\n\
             \x20                                                        through the webhook's path; applied ones stay no-ops"
        }
        _ => {
            "ops COMMAND [--help]: setup | seed-demo | openapi | seed-catalogue | seed-petitions | stripe-trigger | backfill-pilot |\n\
             reconcile-stripe | event | account | orders | queue | stripe"
        }
    }
}

/// Prints the result: JSON with `--json`, else the one-line summary.
fn report(args: &[String], json: serde_json::Value, summary: impl FnOnce() -> String) {
    if args.iter().any(|a| a == "--json") {
        println!("{json}");
    } else {
        println!("{}", summary());
    }
}

/// Prints the audit line (`local::audit`) to stderr, so `--json` stays clean.
async fn audit(sdk: &aws_config::SdkConfig, command: &str, subject: &str, before: &str, after: &str) {
    eprintln!("{}", local::audit::line(local::audit::principal(sdk).await, command, subject, before, after));
}

/// `3d` or `12h`: how far back to read.
fn parse_window(text: &str) -> anyhow::Result<chrono::Duration> {
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = number.parse().with_context(|| format!("{text:?} is not <N>d or <N>h"))?;
    match unit {
        "d" => Ok(chrono::Duration::days(n)),
        "h" => Ok(chrono::Duration::hours(n)),
        _ => anyhow::bail!("{text:?} is not <N>d or <N>h"),
    }
}
