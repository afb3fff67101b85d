//! Optional passwords, as argon2id PHC strings (the crate's defaults: 19 MiB, 2 passes).
//! Hashing takes tens of milliseconds of CPU on purpose, so callers run it off the async
//! workers ([`hash`] and [`verify`] do).

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use std::sync::LazyLock;
use tokio::sync::Semaphore;

/// Hashes at once, at most: each takes 19 MiB and a core for tens of milliseconds, so a
/// flood of sign-in attempts waits here instead of taking the server's memory.
static HASHING: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(2));

/// Wrong passwords in a row that stop password sign-ins for [`LOCKOUT`].
pub const MAX_FAILURES: i64 = 5;
pub const LOCKOUT: chrono::Duration = chrono::Duration::minutes(15);

/// Shortest password accepted: length is what makes a password hard to guess.
pub const MIN_LEN: usize = 12;
/// Longest: hashing a megabyte would be a cheap way to burn the server's CPU.
pub const MAX_LEN: usize = 256;

/// Why a new password is refused.
pub fn check(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_LEN {
        Err(format!("must be at least {MIN_LEN} characters"))
    } else if n > MAX_LEN {
        Err(format!("must be at most {MAX_LEN} characters"))
    } else {
        Ok(())
    }
}

/// The PHC string to store for `password`.
pub async fn hash(password: String) -> anyhow::Result<String> {
    let _permit = HASHING.acquire().await?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))
    })
    .await?
}

/// A stand-in hash, verified when the address has no password, so that the answer takes
/// as long whether or not the account exists.
const DECOY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Y5kzJp0y9gBzpSsk0IKhDa8UzEYOhOdYkN6TUrL/4Ik";

/// Whether `password` matches `stored` (none: no password, which never matches).
pub async fn verify(stored: Option<String>, password: String) -> anyhow::Result<bool> {
    let _permit = HASHING.acquire().await?;
    tokio::task::spawn_blocking(move || {
        let exists = stored.is_some();
        let phc = stored.unwrap_or_else(|| DECOY.to_owned());
        let Ok(parsed) = PasswordHash::new(&phc) else {
            return Ok(false);
        };
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(exists && matches)
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_password_matches_its_own_hash_only() {
        let stored = hash("correct horse battery".into()).await.expect("hash");
        assert!(stored.starts_with("$argon2id$"));
        assert!(!stored.contains("correct horse"));
        assert!(verify(Some(stored.clone()), "correct horse battery".into())
            .await
            .expect("verify"));
        assert!(!verify(Some(stored), "correct horse battery!".into())
            .await
            .expect("verify"));
        assert!(!verify(None, "anything at all".into())
            .await
            .expect("verify"));
    }

    #[test]
    fn short_and_huge_passwords_are_refused() {
        assert!(check("short").is_err());
        assert!(check(&"x".repeat(MAX_LEN + 1)).is_err());
        assert!(check("twelve chars").is_ok());
    }
}
