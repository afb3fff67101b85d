//! Sending one email: over SMTP, or into `.eml` files when no SMTP server is configured.

use crate::app::config::{MailTransport, SmtpTls};
use anyhow::Context;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;

#[derive(Clone)]
pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files {
        transport: AsyncFileTransport<Tokio1Executor>,
        dir: PathBuf,
    },
}

/// Why a send failed, and whether trying again could help.
#[derive(Debug)]
pub struct SendError {
    /// A 5xx answer (bad address, rejected message): retrying would fail the same way.
    pub permanent: bool,
    pub message: String,
}

impl Mailer {
    pub fn new(transport: &MailTransport) -> anyhow::Result<Mailer> {
        Ok(match transport {
            MailTransport::Files { dir } => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating the outbox directory {}", dir.display()))?;
                Mailer::Files {
                    transport: AsyncFileTransport::new(dir),
                    dir: dir.clone(),
                }
            }
            MailTransport::Smtp {
                host,
                port,
                tls,
                credentials,
            } => {
                let builder = match tls {
                    SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
                    SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                        .context("configuring STARTTLS")?,
                    SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                        .context("configuring TLS")?,
                };
                // A pool keeps connections open between messages: the per-message TCP
                // handshake and greeting would otherwise dominate a batch. One connection
                // per concurrent send.
                let mut builder = builder
                    .port(*port)
                    .timeout(Some(std::time::Duration::from_secs(30)))
                    .pool_config(
                        PoolConfig::new().max_size(super::worker::SEND_CONCURRENCY as u32),
                    );
                if let Some((user, password)) = credentials {
                    builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
                }
                Mailer::Smtp(builder.build())
            }
        })
    }

    /// Where mail goes, for the start-up log (no credentials).
    pub fn describe(&self) -> String {
        match self {
            Mailer::Smtp(_) => "SMTP".into(),
            Mailer::Files { dir, .. } => format!(
                "no SMTP server configured: emails are written as .eml files to {}",
                dir.display()
            ),
        }
    }

    pub async fn send(&self, message: Message) -> Result<(), SendError> {
        match self {
            Mailer::Smtp(smtp) => smtp.send(message).await.map(drop).map_err(|e| SendError {
                permanent: e.is_permanent(),
                message: e.to_string(),
            }),
            Mailer::Files { transport, .. } => {
                transport
                    .send(message)
                    .await
                    .map(drop)
                    .map_err(|e| SendError {
                        permanent: false,
                        message: e.to_string(),
                    })
            }
        }
    }
}
