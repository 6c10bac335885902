//! What a request costs on AWS, from what the bench measured of it: its duration at a
//! Lambda memory size, the DynamoDB request units it consumed, its SQS and SES calls.
//! List prices of us-east-1 (2026), on demand, without the free tier:
//! - Lambda: $0.20 per million requests; $0.0000166667 per GB-second on x86_64 and
//!   $0.0000133334 on arm64, billed per 1 ms (aws.amazon.com/lambda/pricing). Init is
//!   billed as duration too (since 2025-08-01), paid once per cold start.
//! - API Gateway HTTP API: $1.00 per million requests (first 300 million a month,
//!   each 512 KB). The Stripe webhook is a Function URL: no gateway charge.
//! - DynamoDB on demand: $0.125 per million read request units, $0.625 per million
//!   write request units (since the November 2024 price cut).
//! - SQS standard: $0.40 per million requests (each 64 KB chunk).
//! - SES: $0.10 per thousand emails.

use std::time::Duration;

const LAMBDA_REQUEST: f64 = 0.20;
const LAMBDA_GB_SECOND_X86: f64 = 0.000_016_666_7;
const LAMBDA_GB_SECOND_ARM: f64 = 0.000_013_333_4;
const HTTP_API_REQUEST: f64 = 1.00;
const DYNAMODB_READ_UNIT: f64 = 0.125;
const DYNAMODB_WRITE_UNIT: f64 = 0.625;
const SQS_REQUEST: f64 = 0.40;
const SES_EMAIL: f64 = 100.0;

/// DynamoDB request units one request consumed.
#[derive(Clone, Copy, Debug, Default)]
pub struct Units {
    pub read: f64,
    pub write: f64,
}

/// One request as measured.
pub struct Request {
    pub duration: Duration,
    pub memory_mb: u32,
    pub units: Units,
    pub sqs_requests: usize,
    pub emails: usize,
    /// Reached through the HTTP API (not the webhook's Function URL or the queue).
    pub through_http_api: bool,
}

/// Dollars per million requests, by what they pay for.
#[derive(Clone, Copy, Default)]
pub struct PerMillion {
    pub lambda: f64,
    pub lambda_arm64: f64,
    pub api: f64,
    pub dynamodb: f64,
    pub messaging: f64,
}

impl PerMillion {
    pub fn total(&self) -> f64 {
        self.lambda + self.api + self.dynamodb + self.messaging
    }

    pub fn total_arm64(&self) -> f64 {
        self.lambda_arm64 + self.api + self.dynamodb + self.messaging
    }

    pub fn add(&mut self, other: &PerMillion, times: f64) {
        self.lambda += other.lambda * times;
        self.lambda_arm64 += other.lambda_arm64 * times;
        self.api += other.api * times;
        self.dynamodb += other.dynamodb * times;
        self.messaging += other.messaging * times;
    }
}

pub fn per_million(request: &Request) -> PerMillion {
    let billed_ms = (request.duration.as_secs_f64() * 1000.0).ceil();
    let gb_seconds = f64::from(request.memory_mb) / 1024.0 * billed_ms / 1000.0 * 1e6;
    PerMillion {
        lambda: LAMBDA_REQUEST + gb_seconds * LAMBDA_GB_SECOND_X86,
        lambda_arm64: LAMBDA_REQUEST + gb_seconds * LAMBDA_GB_SECOND_ARM,
        api: if request.through_http_api { HTTP_API_REQUEST } else { 0.0 },
        dynamodb: request.units.read * DYNAMODB_READ_UNIT + request.units.write * DYNAMODB_WRITE_UNIT,
        messaging: request.sqs_requests as f64 * SQS_REQUEST + request.emails as f64 * SES_EMAIL,
    }
}

/// The product's main journeys as the endpoints the bench measures, with how many
/// times each is called. Stripe's own calls and pages are not ours to pay for; a
/// webhook delivery stands for each event Stripe sends.
pub const JOURNEYS: &[(&str, &[(&str, f64)])] = &[
    (
        "sign up (register, then the app's first screens)",
        &[("POST /v1/auth/register", 1.0), ("GET /v1/auth/me", 1.0), ("GET /v1/billing/state", 1.0)],
    ),
    (
        "subscribe (plans, state, then 4 Stripe events: session completed, subscription created and updated, invoice paid)",
        &[("GET /v1/billing/plans", 1.0), ("GET /v1/billing/state", 2.0), ("POST /webhooks/stripe (subscription.updated)", 4.0)],
    ),
    (
        "buy a petition with an add-on (catalogue, checkout, Stripe's event, 3 tasks created by the worker)",
        &[
            ("GET /v1/petition-templates", 1.0),
            ("GET /v1/petition-templates/{id}/plans", 1.0),
            ("POST /v1/petitions/initiate-checkout (zero total)", 1.0),
            ("POST /webhooks/stripe (subscription.updated)", 1.0),
            ("SQS: one add_task message", 3.0),
            ("GET /v1/petitions/{id}", 1.0),
        ],
    ),
    (
        "pay for a will (create, 7 sections, read, Stripe's event, read back)",
        &[
            ("POST /v1/wills", 1.0),
            ("PUT /v1/wills/{id}/sections/personal", 7.0),
            ("GET /v1/wills/{id}", 2.0),
            ("POST /webhooks/stripe (subscription.updated)", 1.0),
        ],
    ),
];
