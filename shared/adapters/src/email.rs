//! Outgoing email through SES (v2 API), with plain-text templates.

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use crate::lazy_client::{LazyClient, lazy_client};
use domain::email::Email;

#[derive(Clone)]
pub struct Mailer {
    client: LazyClient<Client>,
    from: String,
    app_base_url: String,
}

/// One rendered email.
pub struct Mail {
    pub subject: String,
    pub text: String,
}

impl Mailer {
    pub fn new(client: impl FnOnce() -> Client + Send + 'static, from: impl Into<String>, app_base_url: impl Into<String>) -> Self {
        Mailer { client: lazy_client(client), from: from.into(), app_base_url: app_base_url.into() }
    }

    /// The mailer with an SES client of the function's SDK configuration, built on
    /// first use.
    pub fn from_sdk(sdk: &aws_config::SdkConfig, from: impl Into<String>, app_base_url: impl Into<String>) -> Self {
        let sdk = sdk.clone();
        Mailer::new(move || Client::new(&sdk), from, app_base_url)
    }

    pub fn verification(&self, token: &str) -> Mail {
        Mail {
            subject: "Verify your email address".into(),
            text: format!(
                "Welcome!\n\nConfirm your email address by opening this link:\n{}/verify-email?token={token}\n\n\
                 The link works once and expires in 48 hours. If you did not sign up, ignore this email.\n",
                self.app_base_url
            ),
        }
    }

    pub fn password_reset(&self, token: &str) -> Mail {
        Mail {
            subject: "Reset your password".into(),
            text: format!(
                "Someone asked to reset the password of your account.\n\nChoose a new password here:\n\
                 {}/reset-password?token={token}\n\nThe link works once and expires in 1 hour. \
                 If it was not you, ignore this email: your password stays as it is.\n",
                self.app_base_url
            ),
        }
    }

    pub fn invitation(&self, account_name: &str, code: &str) -> Mail {
        Mail {
            subject: format!("You are invited to join {account_name}"),
            text: format!(
                "You have been invited to join {account_name}.\n\nAccept the invitation and create your login here:\n\
                 {}/accept-invite?code={code}\n\nThe invitation expires in 7 days.\n",
                self.app_base_url
            ),
        }
    }

    #[tracing::instrument(skip(self, mail), fields(subject = %mail.subject))]
    pub async fn send(&self, to: &Email, mail: Mail) -> anyhow::Result<()> {
        let content = EmailContent::builder()
            .simple(
                Message::builder()
                    .subject(Content::builder().data(mail.subject).charset("UTF-8").build()?)
                    .body(Body::builder().text(Content::builder().data(mail.text).charset("UTF-8").build()?).build())
                    .build(),
            )
            .build();
        self.client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(to.as_str()).build())
            .content(content)
            .send()
            .await?;
        Ok(())
    }
}
