//! One integration binary: HTTP against the merged router, state in the emulator.

mod accounts;
mod billing;
mod checkout_pages;
mod dependencies;
mod guards;
mod invites;
mod jwt;
mod lambda_events;
mod layers;
mod limits;
mod login;
mod oauth;
mod openapi;
mod orders;
mod passwords;
mod petitions;
mod refresh;
mod register;
mod roles;
mod stripe;
mod subscriptions;
mod tasks;
mod telemetry;
mod unavailable;
mod verification;
mod wills;
