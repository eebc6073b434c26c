//! Secrets: random bearer tokens, their keyed hashes, and password hashing.
//!
//! Sessions and API tokens are random 256-bit strings handed to the client once; the database
//! keeps only HMAC-SHA256(server secret, token). A copy of the database alone therefore lets
//! nobody sign in, and a lookup is one indexed equality on the hash.

use crate::error::{CoreError, CoreResult};
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use sha2::Sha256;
use std::fmt;

/// A bearer secret as handed to a client. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// 32 random bytes, URL-safe, behind a short prefix that tells what the token is for.
    pub fn generate(prefix: &str) -> Token {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Token(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    pub fn from_client(raw: &str) -> Token {
        Token(raw.to_owned())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

/// The hash under which a token is stored.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TokenHash(pub String);

/// Hashes tokens under the server's secret key.
#[derive(Clone)]
pub struct TokenHasher {
    key: Vec<u8>,
}

impl fmt::Debug for TokenHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHasher(***)")
    }
}

impl TokenHasher {
    pub fn new(key: &[u8]) -> TokenHasher {
        TokenHasher { key: key.to_vec() }
    }

    pub fn hash(&self, token: &Token) -> TokenHash {
        TokenHash(hmac_hex(&self.key, &[token.0.as_bytes()]))
    }
}

/// The lower-case hex HMAC-SHA256 of `parts` one after another: webhook signatures, ours and
/// the platforms'.
pub fn hmac_hex(key: &[u8], parts: &[&[u8]]) -> String {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes a key of any length");
    for part in parts {
        mac.update(part);
    }
    let digest = mac.finalize().into_bytes();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// `bytes` random bytes as lower-case hex: keys and secrets that travel in addresses and headers.
pub fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Whether two secrets are equal, in time that does not tell how much of them matched.
pub fn same_secret(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// A random password for a new administrator: 20 URL-safe characters (120 bits).
pub fn random_password() -> String {
    let mut bytes = [0u8; 15];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Hashes a password with Argon2id (OWASP parameters). CPU-heavy: call it off the async threads.
pub fn hash_password(password: &str) -> CoreResult<String> {
    argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| CoreError::Internal(format!("password hashing failed: {e}")))
}

/// Checks a password against a stored hash. CPU-heavy: call it off the async threads.
pub fn verify_password(password: &str, hash: &str) -> bool {
    argon2::Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// Password hashing and checking, off the async threads and at most one per core at a time:
/// each Argon2id run takes ~19 MiB and a core's worth of time, so a burst of sign-ins queues
/// here instead of exhausting memory or the blocking pool. Cheap to clone; one per server.
#[derive(Clone)]
pub struct Passwords {
    permits: std::sync::Arc<tokio::sync::Semaphore>,
}

impl Default for Passwords {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Passwords {
            permits: std::sync::Arc::new(tokio::sync::Semaphore::new(cores)),
        }
    }
}

impl Passwords {
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> CoreResult<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| CoreError::Internal(format!("password hashing failed: {e}")))
    }

    pub async fn hash(&self, password: &str) -> CoreResult<String> {
        let password = password.to_owned();
        self.run(move || hash_password(&password)).await?
    }

    pub async fn verify(&self, password: &str, hash: &str) -> CoreResult<bool> {
        let (password, hash) = (password.to_owned(), hash.to_owned());
        self.run(move || verify_password(&password, &hash)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_hashes_depend_on_the_key() {
        let a = Token::generate("s_");
        let b = Token::generate("s_");
        assert_ne!(a, b);
        assert!(a.expose().starts_with("s_") && a.expose().len() > 40);
        let h1 = TokenHasher::new(b"one").hash(&a);
        assert_eq!(h1, TokenHasher::new(b"one").hash(&a));
        assert_ne!(h1, TokenHasher::new(b"two").hash(&a));
        assert!(!format!("{a:?}").contains(&a.expose()[2..]));
    }

    #[test]
    fn password_hash_verifies_only_the_same_password() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct horsf", &h));
        assert!(!verify_password("correct horse", "not a hash"));
    }
}
