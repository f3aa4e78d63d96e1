//! Repository users' secrets: made at random, kept only as salted hashes,
//! compared without leaking through timing.

use sha2::{Digest, Sha256};

/// A new secret for a repository user: 40 random letters and digits.
pub fn new_secret() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric.sample_string(&mut rand::rng(), 40)
}

/// `(salt, hash)` of a secret, both hex.
pub fn hash_secret(secret: &str) -> (String, String) {
    let salt: [u8; 16] = rand::random();
    let salt = hex(&salt);
    let hash = hash_with(&salt, secret);
    (salt, hash)
}

/// Whether `secret` is the one hashed as `hash` with `salt`.
pub fn secret_matches(salt: &str, hash: &str, secret: &str) -> bool {
    same_text(&hash_with(salt, secret), hash)
}

/// Whether two strings are equal, compared through their SHA-256 digests
/// without an early exit, so the time taken does not tell how much matched.
pub fn same_text(a: &str, b: &str) -> bool {
    let (da, db) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    da.iter()
        .zip(db.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

fn hash_with(salt: &str, secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update(secret.as_bytes());
    hex(&h.finalize())
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_hashed_and_checked() {
        let s = new_secret();
        assert_eq!(s.len(), 40);
        let (salt, hash) = hash_secret(&s);
        assert!(!hash.contains(&s));
        assert!(secret_matches(&salt, &hash, &s));
        assert!(!secret_matches(&salt, &hash, "wrong"));
        let (salt2, hash2) = hash_secret(&s);
        assert_ne!((salt, hash), (salt2, hash2));
    }
}
