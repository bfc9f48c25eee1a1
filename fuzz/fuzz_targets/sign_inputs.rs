//! The sign function's parsers on any input: policies, object keys, path templates (and matching them
//! against claims made of the same input), and presigning whatever key passes. None may panic;
//! a presigned URL holds only unreserved characters, `%XX`, and the URL's own delimiters.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_core::Secret;
use portcullis_sign::key::ObjectKey;
use portcullis_sign::post::{PostKey, PostPolicy, presign_post};
use portcullis_sign::sigv4::{Credentials, Method, Presign, Style, presign};
use portcullis_sign::template::Template;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = portcullis_sign::policy::Policy::from_json(text);
    let mid = (0..=text.len() / 2)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    let (left, right) = text.split_at(mid);
    let claims = serde_json::json!({ "sub": right, "app_metadata": { "org_id": left } });
    for candidate in [text, left, right] {
        let Ok(key) = ObjectKey::parse(candidate) else {
            continue;
        };
        for t in [
            "users/{sub}/**",
            "orgs/{app_metadata.org_id}/*",
            "public/**",
        ] {
            if let Ok(t) = Template::parse(t) {
                let _ = t.matches(&key, &claims);
            }
        }
        if let Ok(t) = Template::parse(left) {
            let _ = t.matches(&key, &claims);
        }
        let creds = Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret: Secret::new("secret".into()),
            session_token: Some(right.to_owned()),
        };
        let p = Presign {
            method: Method::Put,
            scheme: "https",
            host: "s3.example.com:9000",
            bucket: "bucket",
            key: &key,
            style: Style::Path,
            region: "auto",
            time: 1_800_000_000,
            expires: 3600,
            query: &[("response-content-disposition", right)],
            headers: &[],
        };
        let url = presign(&creds, &p).expect("a checked key always signs").url;
        let exact = candidate.len() % 2 == 0;
        let form = presign_post(
            &creds,
            &PostPolicy {
                scheme: "https",
                host: "s3.example.com",
                bucket: "bucket",
                style: Style::VirtualHost,
                region: "us-east-1",
                time: 1_800_000_000,
                expires: 60,
                key: if exact {
                    PostKey::Exact(&key)
                } else {
                    PostKey::Prefix(left)
                },
                content_type: Some(right),
                size: Some((0, 1024)),
            },
        );
        // An exact key always signs (a prefix may be refused); the policy is JSON whatever the
        // input (Python-style escapes included).
        match form {
            Ok(form) => assert!(
                serde_json::from_str::<serde_json::Value>(&form.policy).is_ok(),
                "{}",
                form.policy
            ),
            Err(e) => assert!(!exact, "an exact key must sign: {e}"),
        }
        assert!(
            url.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~/%?&=:".contains(&b)),
            "{url}"
        );
    }
});
