//! Standard Webhooks verification never panics on any headers and body, and whatever we sign
//! verifies (and stops verifying when the body changes).
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_core::UnixTime;
use portcullis_webhooks::{SecretSet, SigningSecret, UntrustedWebhook};

fuzz_target!(|data: &[u8]| {
    let secret = SigningSecret::from_bytes(vec![7; 32]).unwrap();
    let set = SecretSet::single(secret.clone());
    let now = UnixTime::from_secs(1_700_000_000);
    // Split the input into id / timestamp / signature / body at NUL bytes.
    let mut parts = data.splitn(4, |b| *b == 0);
    let text = |p: Option<&[u8]>| p.map(|p| String::from_utf8_lossy(p).into_owned());
    let (id, ts, sig) = (text(parts.next()), text(parts.next()), text(parts.next()));
    let body = parts.next().unwrap_or_default();
    let _ = set.verify(
        UntrustedWebhook {
            id: id.as_deref(),
            timestamp: ts.as_deref(),
            signature: sig.as_deref(),
            body,
        },
        now,
    );
    let good = secret.sign("msg_1", now, body);
    let ok = UntrustedWebhook {
        id: Some("msg_1"),
        timestamp: Some("1700000000"),
        signature: Some(&good),
        body,
    };
    assert!(set.verify(ok, now).is_ok());
    let mut changed = body.to_vec();
    changed.push(b'x');
    assert!(
        set.verify(
            UntrustedWebhook {
                body: &changed,
                ..ok
            },
            now
        )
        .is_err()
    );
});
