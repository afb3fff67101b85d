//! A real SMTP server on loopback, small enough to read: it speaks enough of RFC 5321 for
//! lettre (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) and hands each message to the test.
//! Tests wait on the channel for mail to arrive, never on a timer.

use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent, headers and body, with dot-stuffing undone.
    pub data: Vec<u8>,
}

pub struct SmtpServer {
    pub port: u16,
    inbox: mpsc::UnboundedReceiver<ReceivedMail>,
    /// When set, every RCPT gets this reply instead of 250 (to test failures).
    reject_with: std::sync::Arc<std::sync::Mutex<Option<String>>>,
    /// How long the server takes to accept each message (a slow relay).
    slowness: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Whether EHLO announces 8BITMIME (RFC 6152), as nearly every relay does.
    eight_bit: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        Self::start_on(0).await
    }

    /// On a given port (0: any free one), e.g. one the app was told about while nothing
    /// listened there yet.
    pub async fn start_on(port: u16) -> SmtpServer {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind SMTP");
        let port = listener.local_addr().expect("address").port();
        let (tx, inbox) = mpsc::unbounded_channel();
        let reject_with = std::sync::Arc::new(std::sync::Mutex::new(None));
        let slowness = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let eight_bit = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (reject, slow, eight) = (reject_with.clone(), slowness.clone(), eight_bit.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (tx, reject, slow) = (tx.clone(), reject.clone(), slow.clone());
                let eight = eight.load(std::sync::atomic::Ordering::Relaxed);
                tokio::spawn(async move {
                    let _ = session(stream, tx, reject, slow, eight).await;
                });
            }
        });
        SmtpServer {
            port,
            inbox,
            reject_with,
            slowness,
            eight_bit,
        }
    }

    /// Makes the server take `per_message` to accept each message, as a busy relay does.
    pub fn slow_down(&self, per_message: Duration) {
        let ms = u64::try_from(per_message.as_millis()).unwrap_or(u64::MAX);
        self.slowness
            .store(ms, std::sync::atomic::Ordering::Relaxed);
    }

    /// Makes the server stop announcing 8BITMIME to new connections: an old relay that
    /// takes 7-bit text only.
    pub fn without_8bitmime(&self) {
        self.eight_bit
            .store(false, std::sync::atomic::Ordering::Relaxed);
    }

    /// Makes the server refuse recipients with `reply` (e.g. `550 5.1.1 no such user`).
    pub fn reject_recipients(&self, reply: Option<&str>) {
        *self.reject_with.lock().expect("lock") = reply.map(str::to_owned);
    }

    /// The next message, or a panic after 30 s so a broken sender fails the test.
    pub async fn next_mail(&mut self) -> ReceivedMail {
        tokio::time::timeout(Duration::from_secs(30), self.inbox.recv())
            .await
            .expect("no email arrived within 30 s")
            .expect("SMTP server stopped")
    }

    /// Mail already received, without waiting.
    pub fn try_next_mail(&mut self) -> Option<ReceivedMail> {
        self.inbox.try_recv().ok()
    }
}

async fn session(
    stream: TcpStream,
    inbox: mpsc::UnboundedSender<ReceivedMail>,
    reject: std::sync::Arc<std::sync::Mutex<Option<String>>>,
    slowness: std::sync::Arc<std::sync::atomic::AtomicU64>,
    eight_bit: bool,
) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 debrief-test-smtp ready\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply: String = match verb.as_str() {
            "EHLO" if eight_bit => "250-debrief-test-smtp\r\n250-8BITMIME\r\n250 SMTPUTF8".into(),
            "EHLO" => "250-debrief-test-smtp\r\n250 SMTPUTF8".into(),
            "HELO" => "250 debrief-test-smtp".into(),
            "MAIL" => {
                from = address(&command);
                to.clear();
                "250 OK".into()
            }
            "RCPT" => match reject.lock().expect("lock").clone() {
                Some(reply) => reply,
                None => {
                    to.push(address(&command));
                    "250 OK".into()
                }
            },
            "DATA" => {
                write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let mut data = Vec::new();
                loop {
                    let mut raw = Vec::new();
                    if lines.read_until(b'\n', &mut raw).await? == 0 {
                        return Ok(());
                    }
                    if raw == b".\r\n" || raw == b".\n" {
                        break;
                    }
                    let unstuffed = if raw.starts_with(b"..") {
                        &raw[1..]
                    } else {
                        &raw[..]
                    };
                    data.extend_from_slice(unstuffed);
                }
                let slow = slowness.load(std::sync::atomic::Ordering::Relaxed);
                if slow > 0 {
                    tokio::time::sleep(Duration::from_millis(slow)).await;
                }
                let _ = inbox.send(ReceivedMail {
                    from: from.clone(),
                    to: std::mem::take(&mut to),
                    data,
                });
                "250 OK queued".into()
            }
            "RSET" => {
                to.clear();
                "250 OK".into()
            }
            "NOOP" => "250 OK".into(),
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => "502 command not implemented".into(),
        };
        write.write_all(format!("{reply}\r\n").as_bytes()).await?;
    }
}

fn address(command: &str) -> String {
    command
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(addr, _)| addr.to_owned())
        .unwrap_or_default()
}

/// A loopback port nothing listens on (yet).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}
