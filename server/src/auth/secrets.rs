//! The random secrets behind keys, links and sessions, and how they are stored: hashed.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// SHA-256, hex. Used for API keys and buyer tokens alike: both are high-entropy random
/// strings, so a fast unsalted hash is enough to make a leaked table useless.
pub fn hash_secret(secret: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(secret.as_bytes());
    // Every request with a token hashes it: no formatting machinery per byte.
    let mut hex = String::with_capacity(digest.len() * 2);
    for b in digest {
        hex.push(char::from(HEX[usize::from(b >> 4)]));
        hex.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    hex
}

/// 256 random bits, URL-safe base64 (43 characters).
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_and_distinct() {
        let a = random_secret();
        let b = random_secret();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }

    #[test]
    fn hashes_are_stable_hex_and_hide_the_secret() {
        let h = hash_secret("dbk_example");
        assert_eq!(h.len(), 64);
        assert_eq!(h, hash_secret("dbk_example"));
        assert!(!h.contains("example"));
        // What every stored key and link hash was written as: SHA-256 in lowercase hex.
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
