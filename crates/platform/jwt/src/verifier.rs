//! [`Verifier`]: the steps with the JWKS cache and the verified-token cache.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use portcullis_core::{Clock, Crypto, CryptoError, Outbound, OutboundRequest};
use sha2::{Digest, Sha256};

use crate::{Expectations, HmacKey, KeySet, Refusal, UntrustedToken, VerifiedClaims};

/// Why a token could not be accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyError {
    /// The token is refused (401).
    Refused(Refusal),
    /// No key could be loaded: the JWKS endpoint is unreachable and nothing is cached (503).
    KeysUnavailable,
    /// The host could not run a signature check (500; logged).
    Crypto(CryptoError),
}

impl From<Refusal> for VerifyError {
    fn from(r: Refusal) -> Self {
        Self::Refused(r)
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused(r) => write!(f, "token refused: {r}"),
            Self::KeysUnavailable => f.write_str("no verification keys could be loaded"),
            Self::Crypto(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for VerifyError {}

/// Where the JWKS comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JwksConfig {
    /// `{SUPABASE_URL}/auth/v1/.well-known/jwks.json`.
    pub url: String,
    /// Per-fetch timeout.
    pub timeout_ms: u32,
}

/// The keys a [`Verifier`] uses.
#[derive(Debug)]
pub enum KeySource {
    /// A fixed set (`SUPABASE_JWKS` from the environment, or only the HS256 secret).
    Static(KeySet),
    /// The project's JWKS, fetched and cached, plus the HS256 secret if configured.
    Remote(JwksConfig, Option<HmacKey>),
}

/// Bounds of the JWKS cache lifetime taken from `Cache-Control: max-age`.
const MIN_TTL_MS: u64 = 60_000;
const MAX_TTL_MS: u64 = 3_600_000;
const DEFAULT_TTL_MS: u64 = 600_000;
/// An unknown `kid` refetches at most this often; a failed fetch is retried after this long.
pub const REFETCH_INTERVAL_MS: u64 = 30_000;
/// A set older than this is dropped when it cannot be refreshed.
const MAX_STALE_MS: u64 = 24 * 3_600_000;
/// JWKS bodies larger than this are garbage.
const MAX_JWKS_BYTES: usize = 256 * 1024;
/// Verified tokens kept.
pub const TOKEN_CACHE_ENTRIES: usize = 1024;

/// The TTL a `Cache-Control` value asks for, bounded.
fn ttl_ms(cache_control: Option<&str>) -> u64 {
    let Some(value) = cache_control else {
        return DEFAULT_TTL_MS;
    };
    let mut ttl = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return MIN_TTL_MS;
        }
        if let Some(secs) = lower.strip_prefix("max-age=") {
            ttl = secs.trim_matches('"').parse::<u64>().ok();
        }
    }
    ttl.map_or(DEFAULT_TTL_MS, |s| {
        s.saturating_mul(1000).clamp(MIN_TTL_MS, MAX_TTL_MS)
    })
}

#[derive(Default)]
struct RemoteState {
    set: Option<Rc<KeySet>>,
    fetched_at_ms: u64,
    fresh_until_ms: u64,
    /// No fetch before this (after a failure, or an unknown-`kid` refetch).
    next_fetch_ms: u64,
    last_kid_refetch_ms: Option<u64>,
    fetching: bool,
    generation: u64,
    waiters: Vec<Waker>,
    problem: Option<String>,
    fetches: u64,
}

impl RemoteState {
    fn finish(&mut self) {
        self.fetching = false;
        self.generation += 1;
        for w in self.waiters.drain(..) {
            w.wake();
        }
    }
}

/// Resolves when the fetch in flight completes.
struct FetchDone<'a> {
    state: &'a RefCell<RemoteState>,
    generation: u64,
}

impl Future for FetchDone<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = self.state.borrow_mut();
        if s.generation != self.generation || !s.fetching {
            Poll::Ready(())
        } else {
            s.waiters.push(cx.waker().clone());
            Poll::Pending
        }
    }
}

/// Ends the fetch in flight even when the request that started it is dropped.
struct Fetching<'a>(&'a RefCell<RemoteState>);

impl Drop for Fetching<'_> {
    fn drop(&mut self) {
        let mut s = self.0.borrow_mut();
        if s.fetching {
            s.finish();
        }
    }
}

struct Remote {
    config: JwksConfig,
    secret: Option<HmacKey>,
    /// The secret alone: HS256 tokens never wait for (or fail with) the JWKS.
    hmac_only: Rc<KeySet>,
    state: RefCell<RemoteState>,
}

/// Verifies tokens for one project: built once per instance, shared by its requests.
pub struct Verifier {
    expect: Expectations,
    keys: Keys,
    /// Verified tokens by the SHA-256 of the token, with the key set that verified them: an
    /// entry holds only while that set is the current one (and, when fetched, fresh), so a key
    /// removed from the JWKS stops its cached tokens at the next refresh.
    tokens: RefCell<HashMap<[u8; 32], Cached>>,
}

struct Cached {
    claims: Rc<VerifiedClaims>,
    keys: Weak<KeySet>,
}

enum Keys {
    Static(Rc<KeySet>),
    /// Boxed: the HMAC key states make it much larger than the static variant.
    Remote(Box<Remote>),
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("expect", &self.expect)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier of tokens meeting `expect`, with keys from `source`.
    #[must_use]
    pub fn new(source: KeySource, expect: Expectations) -> Self {
        let keys = match source {
            KeySource::Static(set) => Keys::Static(Rc::new(set)),
            KeySource::Remote(config, secret) => Keys::Remote(Box::new(Remote {
                config,
                hmac_only: Rc::new(KeySet::default().with_hmac(secret.clone())),
                secret,
                state: RefCell::new(RemoteState::default()),
            })),
        };
        Self {
            expect,
            keys,
            tokens: RefCell::new(HashMap::new()),
        }
    }

    /// What tokens must say.
    #[must_use]
    pub const fn expectations(&self) -> &Expectations {
        &self.expect
    }

    /// The last JWKS fetch problem, once (for the caller's log): never includes a token.
    pub fn take_problem(&self) -> Option<String> {
        match &self.keys {
            Keys::Remote(r) => r.state.borrow_mut().problem.take(),
            Keys::Static(_) => None,
        }
    }

    /// How many JWKS fetches were started (tests, metrics).
    #[must_use]
    pub fn jwks_fetches(&self) -> u64 {
        match &self.keys {
            Keys::Remote(r) => r.state.borrow().fetches,
            Keys::Static(_) => 0,
        }
    }

    /// Verifies `raw` at the clock's time: from the verified-token cache when this exact
    /// token was verified before and is still live, else through every step.
    ///
    /// # Errors
    /// [`VerifyError`].
    pub async fn verify<H: Outbound>(
        &self,
        raw: &str,
        clock: &dyn Clock,
        http: &H,
        crypto: &dyn Crypto,
    ) -> Result<Rc<VerifiedClaims>, VerifyError> {
        if raw.len() > crate::MAX_TOKEN_BYTES {
            return Err(Refusal::TooLarge.into());
        }
        let now = clock.now();
        let digest: [u8; 32] = Sha256::digest(raw.as_bytes()).into();
        if let Some(hit) = self.tokens.borrow().get(&digest)
            && hit.claims.live_at(now)
            && self.current(&hit.keys, clock.millis())
        {
            return Ok(Rc::clone(&hit.claims));
        }
        let token = UntrustedToken::parse(raw)?;
        let keys = match &self.keys {
            // HS256 is checked against the configured secret only: no JWKS is needed for it.
            Keys::Remote(r) if token.alg() == crate::Alg::Hs256 => Rc::clone(&r.hmac_only),
            _ => self.keys(clock, http, false).await?,
        };
        let keys = match crate::verify_signature(&token, &keys, crypto).await {
            Err(VerifyError::Refused(Refusal::UnknownKid))
                if matches!(self.keys, Keys::Remote(_)) =>
            {
                let keys = self.keys(clock, http, true).await?;
                crate::verify_signature(&token, &keys, crypto).await?;
                keys
            }
            other => other.map(|()| keys)?,
        };
        let claims = Rc::new(VerifiedClaims::check_owned(
            token.into_payload(),
            &self.expect,
            now,
        )?);
        let mut cache = self.tokens.borrow_mut();
        if cache.len() >= TOKEN_CACHE_ENTRIES {
            cache.retain(|_, c| c.claims.live_at(now) && c.keys.strong_count() > 0);
            if cache.len() >= TOKEN_CACHE_ENTRIES {
                cache.clear();
            }
        }
        cache.insert(
            digest,
            Cached {
                claims: Rc::clone(&claims),
                keys: Rc::downgrade(&keys),
            },
        );
        Ok(claims)
    }

    /// Whether `keys` (the set a cached token was verified with) is still the one in use: a
    /// static set always is; the secret-only set of a remote source always is (the secret
    /// does not change); a fetched set while it is current and fresh (a stale one sends the
    /// token through the full check, which also refreshes the set).
    fn current(&self, keys: &Weak<KeySet>, now_ms: u64) -> bool {
        match &self.keys {
            Keys::Static(set) => Weak::ptr_eq(keys, &Rc::downgrade(set)),
            Keys::Remote(r) => {
                if std::ptr::eq(keys.as_ptr(), Rc::as_ptr(&r.hmac_only)) {
                    return true;
                }
                let s = r.state.borrow();
                s.set
                    .as_ref()
                    .is_some_and(|set| std::ptr::eq(keys.as_ptr(), Rc::as_ptr(set)))
                    && now_ms < s.fresh_until_ms
            }
        }
    }

    /// The current key set; `unknown_kid` asks for a refetch (rate-limited).
    async fn keys<H: Outbound>(
        &self,
        clock: &dyn Clock,
        http: &H,
        unknown_kid: bool,
    ) -> Result<Rc<KeySet>, VerifyError> {
        let remote = match &self.keys {
            Keys::Static(set) => return Ok(Rc::clone(set)),
            Keys::Remote(r) => r,
        };
        let mut waited = false;
        loop {
            let now = clock.millis();
            let generation = {
                let mut s = remote.state.borrow_mut();
                let wants_refetch = unknown_kid
                    && !waited
                    && s.last_kid_refetch_ms
                        .is_none_or(|t| now.saturating_sub(t) >= REFETCH_INTERVAL_MS);
                if let Some(set) = &s.set
                    && now < s.fresh_until_ms
                    && !wants_refetch
                {
                    return Ok(Rc::clone(set));
                }
                if s.fetching {
                    if waited {
                        return s.set.clone().ok_or(VerifyError::KeysUnavailable);
                    }
                    // Someone is fetching: a stale set serves meanwhile; without one, or for
                    // an unknown kid, wait for that fetch.
                    if let (Some(set), false) = (&s.set, unknown_kid) {
                        return Ok(Rc::clone(set));
                    }
                    Some(s.generation)
                } else if now < s.next_fetch_ms && !wants_refetch || waited {
                    return s.set.clone().ok_or(VerifyError::KeysUnavailable);
                } else {
                    if unknown_kid {
                        s.last_kid_refetch_ms = Some(now);
                    }
                    s.fetching = true;
                    s.fetches += 1;
                    None
                }
            };
            if let Some(generation) = generation {
                FetchDone {
                    state: &remote.state,
                    generation,
                }
                .await;
                waited = true;
                continue;
            }
            let guard = Fetching(&remote.state);
            let outcome = fetch(remote, http).await;
            let now = clock.millis();
            {
                let mut s = remote.state.borrow_mut();
                let outcome =
                    outcome.and_then(|(set, ttl, skipped)| {
                        // An answer whose keys are all ones we cannot use never replaces a set that
                        // had usable ones (a broken deployment, kept as stale-if-error); an empty
                        // list is the project's word and is taken (its keys were removed).
                        let had_keys = s.set.as_ref().is_some_and(|k| !k.public_keys().is_empty());
                        if had_keys && set.public_keys().is_empty() && skipped > 0 {
                            Err("the JWKS endpoint answered no usable key; keeping the previous set"
                            .to_owned())
                        } else {
                            Ok((set, ttl))
                        }
                    });
                match outcome {
                    Ok((set, ttl)) => {
                        s.set = Some(Rc::new(set));
                        s.fetched_at_ms = now;
                        s.fresh_until_ms = now.saturating_add(ttl);
                        s.next_fetch_ms = 0;
                    }
                    Err(problem) => {
                        s.problem = Some(problem);
                        s.next_fetch_ms = now.saturating_add(REFETCH_INTERVAL_MS);
                        if s.set.is_some() && now.saturating_sub(s.fetched_at_ms) > MAX_STALE_MS {
                            s.set = None;
                        }
                    }
                }
                s.finish();
            }
            drop(guard);
            waited = true;
        }
    }
}

/// One JWKS fetch: the set and its TTL, or what went wrong (for the log).
/// The keys skipped as unusable are counted too.
async fn fetch<H: Outbound>(remote: &Remote, http: &H) -> Result<(KeySet, u64, usize), String> {
    let response = http
        .send(OutboundRequest {
            method: "GET",
            url: remote.config.url.clone(),
            headers: vec![("accept", "application/json".to_owned())],
            body: Vec::new(),
            timeout_ms: remote.config.timeout_ms,
        })
        .await
        .map_err(|e| format!("JWKS fetch failed: {e}"))?;
    if response.status != 200 {
        return Err(format!("JWKS endpoint answered {}", response.status));
    }
    if response.body.len() > MAX_JWKS_BYTES {
        return Err("JWKS body too large".into());
    }
    let text = std::str::from_utf8(&response.body).map_err(|_| "JWKS body is not UTF-8")?;
    let (set, summary) = KeySet::from_jwks(text, false).map_err(|e| format!("JWKS body: {e}"))?;
    let ttl = ttl_ms(response.header("cache-control"));
    Ok((set.with_hmac(remote.secret.clone()), ttl, summary.skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_is_bounded() {
        assert_eq!(ttl_ms(Some("public, max-age=600")), 600_000);
        assert_eq!(ttl_ms(Some("max-age=1")), MIN_TTL_MS);
        assert_eq!(ttl_ms(Some("max-age=999999")), MAX_TTL_MS);
        assert_eq!(ttl_ms(Some("no-store")), MIN_TTL_MS);
        assert_eq!(ttl_ms(None), DEFAULT_TTL_MS);
        assert_eq!(ttl_ms(Some("max-age=abc")), DEFAULT_TTL_MS);
    }
}
