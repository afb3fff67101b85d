//! Sending one email: over SMTP, or into `.eml` files when no SMTP server is configured.
//!
//! SMTP connections are opened here rather than by lettre's transport, for two reasons:
//! - lettre never sets `TCP_NODELAY`, and with Nagle's algorithm on, every command waits
//!   for the server's delayed ACK (about 44 ms a message here). We open the socket, set
//!   nodelay, and hand it to `AsyncSmtpConnection::connect_with_transport`;
//! - sending MAIL, RCPT and DATA ourselves tells which step the server refused: a 5xx on
//!   RCPT means the mailbox does not exist (a hard bounce), unlike a 5xx on the content.
//!
//! Connections stay open between jobs in a small pool, one per concurrent send.

use crate::app::config::{MailTransport, SmtpTls};
use anyhow::Context;
use lettre::address::Envelope;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// Concurrent SMTP sends (and open connections) per process.
pub const SMTP_CONNECTIONS: usize = 16;

const TIMEOUT: Duration = Duration::from_secs(30);

pub enum Mailer {
    Smtp(SmtpPool),
    Files {
        transport: AsyncFileTransport<Tokio1Executor>,
        dir: PathBuf,
    },
}

/// Why a send failed, and what it means for the address.
#[derive(Debug)]
pub struct SendError {
    /// A 5xx answer: retrying would fail the same way.
    pub permanent: bool,
    /// The server refused the recipient's mailbox for good (no such user, bad address):
    /// the address is hard-bounced and must not be emailed again. A policy refusal of the
    /// recipient (relay denied, 5.7.x) is permanent for this message but says nothing of
    /// the mailbox, so it is not a bounce.
    pub hard_bounce: bool,
    pub message: String,
}

impl SendError {
    fn from_smtp(e: &lettre::transport::smtp::Error, step: Step) -> SendError {
        let message = format!("{step:?}: {e}");
        SendError {
            permanent: e.is_permanent(),
            hard_bounce: e.is_permanent()
                && step == Step::Recipient
                && is_mailbox_problem(e.status().map(|c| c.to_string()).as_deref(), &message),
            message,
        }
    }

    fn other(message: String) -> SendError {
        SendError {
            permanent: false,
            hard_bounce: false,
            message,
        }
    }
}

/// RFC 3463: enhanced status 5.1.x is about the destination address. Without an
/// enhanced code, 550, 551 and 553 are the basic replies for a mailbox that is not there.
fn is_mailbox_problem(code: Option<&str>, message: &str) -> bool {
    let enhanced = message.split_whitespace().find(|w| {
        let parts: Vec<&str> = w.trim_end_matches([',', ';']).split('.').collect();
        parts.len() == 3 && parts[0] == "5" && parts.iter().all(|p| p.parse::<u16>().is_ok())
    });
    match enhanced {
        Some(enhanced) => enhanced.starts_with("5.1."),
        None => matches!(code, Some("550" | "551" | "553")),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Connect,
    Sender,
    Recipient,
    Data,
    Content,
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
            } => Mailer::Smtp(SmtpPool {
                host: host.clone(),
                port: *port,
                tls: *tls,
                credentials: credentials
                    .as_ref()
                    .map(|(u, p)| Credentials::new(u.clone(), p.clone())),
                hello: ClientId::default(),
                idle: Mutex::new(Vec::new()),
                permits: Semaphore::new(SMTP_CONNECTIONS),
                eight_bit: AtomicU8::new(UNKNOWN),
            }),
        })
    }

    /// Where mail goes, for the start-up log (no credentials).
    pub fn describe(&self) -> String {
        match self {
            Mailer::Smtp(pool) => format!("SMTP {}:{} ({:?})", pool.host, pool.port, pool.tls),
            Mailer::Files { dir, .. } => format!(
                "no SMTP server configured: emails are written as .eml files to {}",
                dir.display()
            ),
        }
    }

    /// Whether messages may carry 8-bit text as it is (RFC 6152 8BITMIME). An email in
    /// French would otherwise be encoded: a third larger, and encoded for every message.
    /// Learned from the SMTP server's greeting, connecting once if no connection was
    /// opened yet (that connection is kept for the next send). An unreachable server is
    /// the send's own failure, reported without a second try to connect.
    pub async fn eight_bit(&self) -> Result<bool, SendError> {
        match self {
            Mailer::Smtp(pool) => pool.eight_bit().await,
            // Files are read by people and tests, not relayed.
            Mailer::Files { .. } => Ok(true),
        }
    }

    pub async fn send(&self, message: &Message) -> Result<(), SendError> {
        match self {
            Mailer::Smtp(pool) => pool.send(message.envelope(), &message.formatted()).await,
            Mailer::Files { transport, .. } => transport
                .send(message.clone())
                .await
                .map(drop)
                .map_err(|e| SendError::other(e.to_string())),
        }
    }
}

pub struct SmtpPool {
    host: String,
    port: u16,
    tls: SmtpTls,
    credentials: Option<Credentials>,
    hello: ClientId,
    idle: Mutex<Vec<AsyncSmtpConnection>>,
    permits: Semaphore,
    /// What the server said of 8BITMIME: [`UNKNOWN`], [`NO`] or [`YES`].
    eight_bit: AtomicU8,
}

const UNKNOWN: u8 = 0;
const NO: u8 = 1;
const YES: u8 = 2;

impl SmtpPool {
    async fn eight_bit(&self) -> Result<bool, SendError> {
        if self.eight_bit.load(Ordering::Relaxed) == UNKNOWN {
            let _permit = self
                .permits
                .acquire()
                .await
                .map_err(|e| SendError::other(e.to_string()))?;
            // Another send may have connected while this one waited for a permit.
            if self.eight_bit.load(Ordering::Relaxed) == UNKNOWN {
                let conn = self.connect().await?;
                self.give_back(conn);
            }
        }
        Ok(self.eight_bit.load(Ordering::Relaxed) == YES)
    }

    async fn send(&self, envelope: &Envelope, bytes: &[u8]) -> Result<(), SendError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| SendError::other(e.to_string()))?;
        let reused = self.take_idle();
        let fresh = reused.is_none();
        let mut conn = match reused {
            Some(conn) => conn,
            None => self.connect().await?,
        };
        let mut result = send_timed(&mut conn, envelope, bytes).await;
        // An idle connection the server has since closed fails on its first command,
        // before anything was accepted: try once more on a new one.
        if !fresh && matches!(&result, Err(Refused::Smtp(Step::Sender, e)) if !e.is_response()) {
            conn = self.connect().await?;
            result = send_timed(&mut conn, envelope, bytes).await;
        }
        match result {
            Ok(()) => {
                self.give_back(conn);
                Ok(())
            }
            Err(Refused::Smtp(step, e)) => {
                // A refusal leaves the session usable once reset; anything else (a
                // broken pipe) leaves it in an unknown state: drop it.
                if e.is_response() && conn.command(Rset).await.is_ok() {
                    self.give_back(conn);
                } else {
                    conn.abort().await;
                }
                Err(SendError::from_smtp(&e, step))
            }
            Err(Refused::TimedOut) => {
                conn.abort().await;
                Err(SendError::other(format!(
                    "the SMTP server did not answer within {} s",
                    TIMEOUT.as_secs()
                )))
            }
        }
    }

    fn take_idle(&self) -> Option<AsyncSmtpConnection> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }

    fn give_back(&self, conn: AsyncSmtpConnection) {
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(conn);
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let connect_error = |e: &dyn std::fmt::Display| SendError {
            permanent: false,
            hard_bounce: false,
            message: format!("{:?}: {e}", Step::Connect),
        };
        let tcp =
            tokio::time::timeout(TIMEOUT, TcpStream::connect((self.host.as_str(), self.port)))
                .await
                .map_err(|e| connect_error(&e))?
                .map_err(|e| connect_error(&e))?;
        tcp.set_nodelay(true).map_err(|e| connect_error(&e))?;
        let mut conn = match self.tls {
            SmtpTls::None | SmtpTls::StartTls => {
                AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello).await
            }
            SmtpTls::Tls => {
                let tls = tokio_native_tls::TlsConnector::from(
                    native_tls::TlsConnector::new().map_err(|e| connect_error(&e))?,
                )
                .connect(&self.host, tcp)
                .await
                .map_err(|e| connect_error(&e))?;
                AsyncSmtpConnection::connect_with_transport(Box::new(ImplicitTls(tls)), &self.hello)
                    .await
            }
        }
        .map_err(|e| SendError::from_smtp(&e, Step::Connect))?;
        if self.tls == SmtpTls::StartTls {
            let params = TlsParameters::new(self.host.clone()).map_err(|e| connect_error(&e))?;
            conn.starttls(params, &self.hello)
                .await
                .map_err(|e| SendError::from_smtp(&e, Step::Connect))?;
        }
        let eight_bit = conn.server_info().supports_feature(Extension::EightBitMime);
        self.eight_bit
            .store(if eight_bit { YES } else { NO }, Ordering::Relaxed);
        if let Some(credentials) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await
                .map_err(|e| SendError::from_smtp(&e, Step::Connect))?;
        }
        Ok(conn)
    }
}

enum Refused {
    Smtp(Step, lettre::transport::smtp::Error),
    TimedOut,
}

/// A connection we opened ourselves has no timeout of lettre's: bound the whole exchange,
/// so a server that stops answering cannot hold a job past its lease.
async fn send_timed(
    conn: &mut AsyncSmtpConnection,
    envelope: &Envelope,
    bytes: &[u8],
) -> Result<(), Refused> {
    match tokio::time::timeout(TIMEOUT, send_on(conn, envelope, bytes)).await {
        Ok(result) => result.map_err(|(step, e)| Refused::Smtp(step, e)),
        Err(_) => Err(Refused::TimedOut),
    }
}

/// One message on an open session: MAIL, RCPT per recipient, DATA, content.
async fn send_on(
    conn: &mut AsyncSmtpConnection,
    envelope: &Envelope,
    bytes: &[u8],
) -> Result<(), (Step, lettre::transport::smtp::Error)> {
    let mut options = Vec::new();
    let non_ascii = envelope
        .from()
        .is_some_and(|a| !AsRef::<str>::as_ref(a).is_ascii())
        || envelope
            .to()
            .iter()
            .any(|a| !AsRef::<str>::as_ref(a).is_ascii());
    if non_ascii {
        options.push(MailParameter::SmtpUtfEight);
    }
    if !bytes.is_ascii() && conn.server_info().supports_feature(Extension::EightBitMime) {
        options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    conn.command(Mail::new(envelope.from().cloned(), options))
        .await
        .map_err(|e| (Step::Sender, e))?;
    for to in envelope.to() {
        conn.command(Rcpt::new(to.clone(), Vec::new()))
            .await
            .map_err(|e| (Step::Recipient, e))?;
    }
    conn.command(Data).await.map_err(|e| (Step::Data, e))?;
    conn.message(bytes).await.map_err(|e| (Step::Content, e))?;
    Ok(())
}

/// A TLS session over our own (nodelay) socket, for SMTPS. lettre implements its stream
/// trait for plain TCP only, so this newtype forwards the I/O.
#[derive(Debug)]
struct ImplicitTls(tokio_native_tls::TlsStream<TcpStream>);

impl tokio::io::AsyncRead for ImplicitTls {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for ImplicitTls {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl lettre::transport::smtp::client::AsyncTokioStream for ImplicitTls {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().get_ref().get_ref().peer_addr()
    }
}

/// A part's body as it is when it is ASCII or the server takes 8-bit text, with CRLF line
/// ends; encoded (quoted-printable or base64, as lettre picks) when the server does not
/// take 8-bit text or a line is too long for SMTP. lettre's own check encodes any line
/// past 76 characters, which every HTML email has; SMTP's limit is 998 (RFC 5322 2.1.1).
/// An email's text and HTML versions of one message, for the client to pick.
pub fn alternatives(text: String, html: String, eight_bit: bool) -> MultiPart {
    MultiPart::alternative()
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(body(text, eight_bit)),
        )
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(body(html, eight_bit)),
        )
}

pub fn body(mut text: String, eight_bit: bool) -> Body {
    const MAX_LINE: usize = 998;
    // SMTP allows a carriage return only before a line feed; lettre lets a stray one
    // through, so every line end becomes a line feed first, and CRLF below.
    if text.contains('\r') {
        text = text.replace("\r\n", "\n").replace('\r', "\n");
    }
    let bytes = text.as_bytes();
    let ascii = bytes.is_ascii();
    let mut line_start = 0;
    let lines_fit = memchr::memchr_iter(b'\n', bytes)
        .chain(std::iter::once(bytes.len()))
        .all(|end| {
            let fits = end - line_start <= MAX_LINE;
            line_start = end + 1;
            fits
        });
    let as_is = (ascii || eight_bit) && lines_fit && memchr::memchr(0, bytes).is_none();
    if !as_is {
        return Body::new(text);
    }
    let mut crlf = Vec::with_capacity(bytes.len() + bytes.len() / 32);
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', bytes) {
        crlf.extend_from_slice(&bytes[start..end]);
        crlf.extend_from_slice(b"\r\n");
        start = end + 1;
    }
    crlf.extend_from_slice(&bytes[start..]);
    let encoding = if ascii {
        ContentTransferEncoding::SevenBit
    } else {
        ContentTransferEncoding::EightBit
    };
    // Checked above: no line past SMTP's limit, no NUL, CRLF line ends only, and 8-bit
    // text only for a server that announced 8BITMIME.
    Body::dangerous_pre_encoded(crlf, encoding)
}

#[cfg(test)]
mod tests {
    use super::{body, is_mailbox_problem};
    use lettre::message::header::ContentTransferEncoding;

    #[test]
    fn only_a_missing_mailbox_is_a_hard_bounce() {
        assert!(is_mailbox_problem(
            Some("550"),
            "Recipient: permanent error (550): 5.1.1 no such user"
        ));
        assert!(is_mailbox_problem(
            Some("550"),
            "Recipient: permanent error (550): mailbox unavailable"
        ));
        assert!(!is_mailbox_problem(
            Some("554"),
            "Recipient: permanent error (554): 5.7.1 relay access denied"
        ));
        assert!(!is_mailbox_problem(
            Some("550"),
            "Recipient: permanent error (550): 5.7.1 blocked by policy"
        ));
        assert!(!is_mailbox_problem(
            Some("552"),
            "Recipient: permanent error (552): mailbox full"
        ));
    }

    #[test]
    fn a_body_goes_as_it_is_only_where_smtp_allows_it() {
        let french = "Bonjour Zoë,\nà bientôt\n".to_owned();
        let sent = body(french.clone(), true);
        assert_eq!(sent.encoding(), ContentTransferEncoding::EightBit);
        assert_eq!(
            sent.into_vec(),
            b"Bonjour Zo\xc3\xab,\r\n\xc3\xa0 bient\xc3\xb4t\r\n"
        );
        // A server without 8BITMIME gets it encoded.
        assert_ne!(
            body(french, false).encoding(),
            ContentTransferEncoding::EightBit
        );
        assert_eq!(
            body("Hello\nthere".into(), false).encoding(),
            ContentTransferEncoding::SevenBit
        );
        // A line past 998 bytes is encoded.
        let long = format!("{}\nend", "x".repeat(999));
        assert_ne!(
            body(long, true).encoding(),
            ContentTransferEncoding::SevenBit
        );
        assert_eq!(
            body("x".repeat(998), true).encoding(),
            ContentTransferEncoding::SevenBit
        );
        // A stray carriage return ends its line.
        assert_eq!(body("a\rb".into(), true).into_vec(), b"a\r\nb");
    }
}
