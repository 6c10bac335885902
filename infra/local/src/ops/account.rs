//! `ops account ...`: what support does for one account (`app::support`, the pilot
//! rule of `app::billing`).

use std::io::Write;

use chrono::{DateTime, Utc};
use clap::{Subcommand, ValueEnum};
use serde_json::json;

use super::{Ops, Output, dry_run_note, moment, report};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Shows an account (by id, or a member's email): members and roles, the
    /// subscription and its Stripe ids, plan limits, feature flags resolved and
    /// overridden, the last orders.
    Show {
        /// An account id or a member's email.
        who: String,
        #[command(flatten)]
        output: Output,
    },
    /// Sets one feature flag's override for an account (`default`: the plan's value
    /// again), which GET /v1/billing/state resolves over the plan's defaults.
    SetFeature {
        account: String,
        flag: String,
        value: FlagValue,
        /// Show what would change; change nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        output: Output,
    },
    /// Makes a trial run DAYS more days from now (1 to 90), which the guards honour; a
    /// second run within the hour changes nothing more.
    ExtendTrial {
        account: String,
        days: i64,
        /// Show what would change; change nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        output: Output,
    },
    /// Grants a complimentary Pro plan (the pilot rule: never to a canceled or past-due
    /// subscription), without end or until a time; the guards let the account in until
    /// then. Run again with another --until to move the end (a grant with an end keeps one).
    GrantComplimentary {
        account: String,
        /// When the grant ends: a date (2027-01-31, at 00:00 UTC) or an RFC 3339 time.
        #[arg(long, value_parser = moment)]
        until: Option<DateTime<Utc>>,
        /// Show what would change; change nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        output: Output,
    },
    /// Deactivates a user: every request of theirs then answers 403 user_inactive.
    Deactivate {
        user: String,
        /// Show what would change; change nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FlagValue {
    On,
    Off,
    /// The plan's value.
    Default,
}

pub(super) async fn run(ops: &Ops, command: Command, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    let state = ops.state()?;
    match command {
        Command::Show { who, output } => {
            let summary = serde_json::to_value(app::support::account_summary(&state, &who).await?)?;
            report(out, &output, summary.clone(), || serde_json::to_string_pretty(&summary).unwrap_or_default())
        }
        Command::SetFeature { account, flag, value, dry_run, output } => {
            let value = match value {
                FlagValue::On => Some(true),
                FlagValue::Off => Some(false),
                FlagValue::Default => None,
            };
            let (before, after) = app::support::set_feature(&state, &account, &flag, value, dry_run).await?;
            let changed = before != after;
            if changed && !dry_run {
                ops.audit("account set-feature", &account, &before, &after).await;
            }
            let (was, now) = (before.get(&flag).copied(), after.get(&flag).copied());
            let json = json!({"account_id": account, "flag": flag, "before": was, "after": now, "changed": changed, "dry_run": dry_run});
            report(out, &output, json, || {
                format!("account {account}: feature {flag} override {} -> {}{}", shown(was), shown(now), dry_run_note(dry_run))
            })
        }
        Command::ExtendTrial { account, days, dry_run, output } => {
            let (before, after) = app::support::extend_trial(&state, &account, days, dry_run).await?;
            let changed = before != Some(after);
            if changed && !dry_run {
                ops.audit("account extend-trial", &account, &before, &after).await;
            }
            let json = json!({"account_id": account, "before": before, "after": after, "changed": changed, "dry_run": dry_run});
            report(out, &output, json, || {
                let was = before.map_or_else(|| "none".to_owned(), |b| b.to_rfc3339());
                format!("account {account}: trial ends {} (was {was}){}", after.to_rfc3339(), dry_run_note(dry_run))
            })
        }
        Command::GrantComplimentary { account, until, dry_run, output } => {
            let grant = app::billing::grant_complimentary(&state, &account, until, dry_run).await?;
            let view = |s: &Option<domain::account::Subscription>| {
                s.as_ref().map(|s| json!({"status": s.status, "plan": s.plan, "ends": s.current_period_end}))
            };
            let (before, after) = (view(&grant.before), view(&grant.after));
            if grant.changed && !dry_run {
                ops.audit("account grant-complimentary", &account, &before, &after).await;
            }
            let json = json!({"account_id": account, "before": before, "after": after, "changed": grant.changed, "dry_run": dry_run});
            report(out, &output, json, || {
                let status = |s: &Option<domain::account::Subscription>| match s {
                    Some(s) => {
                        format!("{} until {}", s.status.as_str(), s.current_period_end.map_or("no end".to_owned(), |e| e.to_rfc3339()))
                    }
                    None => "no subscription".to_owned(),
                };
                let what = if grant.changed { status(&grant.after) } else { "unchanged".to_owned() };
                format!("account {account}: {} -> {what}{}", status(&grant.before), dry_run_note(dry_run))
            })
        }
        Command::Deactivate { user, dry_run, output } => {
            let changed = app::support::deactivate_user(&state, &user, dry_run).await?;
            if changed && !dry_run {
                ops.audit("account deactivate", &user, &"active", &"deactivated").await;
            }
            let json = json!({"user_id": user, "changed": changed, "dry_run": dry_run});
            report(out, &output, json, || {
                format!("user {user}: {}{}", if changed { "deactivated" } else { "unchanged (deactivated already)" }, dry_run_note(dry_run))
            })
        }
    }
}

fn shown(value: Option<bool>) -> &'static str {
    match value {
        Some(true) => "on",
        Some(false) => "off",
        None => "default",
    }
}
