//! How fast a platform lets one account send: so many calls a second in all, and for some
//! platforms one message at a time to one chat. A reply waits its turn here (a short wait, well
//! within the delivery's lease); past [`MAX_WAIT`] it goes back to the delivery worker to try
//! later.

use governor::{DefaultKeyedRateLimiter, Quota};
use std::num::NonZeroU32;
use std::time::Duration;

/// The longest a reply waits for its turn before the worker takes it back.
pub const MAX_WAIT: Duration = Duration::from_secs(10);

pub struct Pace {
    per_account: DefaultKeyedRateLimiter<String>,
    per_chat: Option<DefaultKeyedRateLimiter<String>>,
}

impl Pace {
    /// At most `per_second` sends of one account, evenly spaced; and, when given, one to a
    /// chat every `chat_period`.
    pub fn new(per_second: u32, chat_period: Option<Duration>) -> Pace {
        let one = NonZeroU32::MIN;
        let rate = NonZeroU32::new(per_second).unwrap_or(one);
        Pace {
            per_account: DefaultKeyedRateLimiter::keyed(Quota::per_second(rate).allow_burst(one)),
            per_chat: chat_period.map(|p| {
                DefaultKeyedRateLimiter::keyed(
                    Quota::with_period(p)
                        .unwrap_or_else(|| Quota::per_second(one))
                        .allow_burst(one),
                )
            }),
        }
    }

    /// Waits until the account may send to the chat; `Err` with when to come back when the
    /// wait would be too long.
    pub async fn wait_turn(&self, account: &str, chat: &str) -> Result<(), Duration> {
        let account = account.to_owned();
        let chat_key = format!("{account}/{chat}");
        // The account's turn first: the chat's, which is short, is then taken right before
        // sending, so that one chat's messages leave apart however long the account's queue was.
        let waited = tokio::time::timeout(MAX_WAIT, async {
            self.per_account.until_key_ready(&account).await;
            if let Some(per_chat) = &self.per_chat {
                per_chat.until_key_ready(&chat_key).await;
            }
        })
        .await;
        waited.map_err(|_| Duration::from_secs(1))
    }
}

/// An account's key in a pace, for an account known by its token alone: a digest, so the
/// token itself is not kept there.
pub fn token_key(token: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    token.hash(&mut h);
    format!("{:016x}", h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sends_are_spaced_per_account_and_per_chat() {
        let pace = Pace::new(25, Some(Duration::from_millis(300)));
        let start = std::time::Instant::now();
        for chat in 0..26 {
            pace.wait_turn("5", &chat.to_string()).await.unwrap();
        }
        assert!(
            start.elapsed() >= Duration::from_millis(950),
            "{:?}",
            start.elapsed()
        );
        let start = std::time::Instant::now();
        pace.wait_turn("6", "a").await.unwrap();
        pace.wait_turn("6", "a").await.unwrap();
        assert!(
            start.elapsed() >= Duration::from_millis(250),
            "{:?}",
            start.elapsed()
        );
    }
}
