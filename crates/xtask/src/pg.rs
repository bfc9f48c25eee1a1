//! A real PostgreSQL server for tests (initdb + pg_ctl on a free loopback port, SCRAM
//! passwords), and a blocking client (portcullis-pgclient: tokio-postgres with rustls).

use std::path::PathBuf;
use std::process::Command;

use portcullis_pgclient::Client;

use crate::util::{
    Result, free_port, is_root, note, output, random_hex, run, say, temp_dir, which,
};

/// A blocking Postgres session.
pub struct Pg(Client);

impl Pg {
    pub fn connect(url: &str) -> Result<Self> {
        Client::connect(url).map(Self)
    }

    /// One statement with text parameters; rows as text.
    pub fn query(
        &mut self,
        sql: &str,
        params: &[Option<&str>],
    ) -> Result<Vec<Vec<Option<String>>>> {
        self.0.query(sql, params)
    }

    /// The first column of every row (NULL as "").
    pub fn column(&mut self, sql: &str) -> Result<Vec<String>> {
        Ok(self
            .query(sql, &[])?
            .into_iter()
            .map(|r| r.into_iter().next().flatten().unwrap_or_default())
            .collect())
    }

    /// A script of statements (migrations).
    pub fn execute(&mut self, script: &str) -> Result {
        self.0.execute(script)
    }
}

/// A private PostgreSQL server, stopped and deleted on drop.
pub struct TestPostgres {
    dir: PathBuf,
    bindir: PathBuf,
    as_postgres: bool,
    pub port: u16,
    password: String,
    /// TLS: off, optional (both accepted), or required.
    tls: Tls,
}

/// What a test server accepts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    Off,
    /// Plain text and TLS (certificate from a throw-away CA).
    Optional,
    /// TLS only.
    Only,
}

fn bindir() -> Result<PathBuf> {
    let has_initdb = |p: &PathBuf| p.join("initdb").is_file() && p.join("pg_ctl").is_file();
    let find = || {
        which("pg_config")
            .and_then(|_| output(Command::new("pg_config").arg("--bindir")).ok())
            .map(|s| PathBuf::from(s.trim()))
            .filter(has_initdb)
            .or_else(|| {
                let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|e| e.path().join("bin"))
                    .filter(has_initdb)
                    .collect();
                dirs.sort();
                dirs.pop()
            })
    };
    if let Some(dir) = find() {
        return Ok(dir);
    }
    if is_root() && which("apt-get").is_some() {
        say("installing PostgreSQL server binaries (apt-get install postgresql)");
        run(Command::new("apt-get")
            .args(["install", "-y", "-q", "postgresql"])
            .env("DEBIAN_FRONTEND", "noninteractive"))
        .or_else(|_| {
            run(Command::new("apt-get").args(["update", "-q"]))?;
            run(Command::new("apt-get")
                .args(["install", "-y", "-q", "postgresql"])
                .env("DEBIAN_FRONTEND", "noninteractive"))
        })?;
        return find().ok_or_else(|| "PostgreSQL installed but initdb not found".to_owned());
    }
    Err(
        "PostgreSQL server binaries (initdb, pg_ctl) not found; install the `postgresql` package"
            .into(),
    )
}

impl TestPostgres {
    pub fn start() -> Result<Self> {
        Self::start_with(Tls::Off)
    }

    /// A server that accepts TLS connections only, with a certificate for `localhost` /
    /// 127.0.0.1 signed by a throw-away CA (see [`TestPostgres::certificate`]).
    pub fn start_tls() -> Result<Self> {
        Self::start_with(Tls::Only)
    }

    /// A server that accepts both plain and TLS connections ([`TestPostgres::verified_url`]).
    pub fn start_tls_optional() -> Result<Self> {
        Self::start_with(Tls::Optional)
    }

    fn start_with(tls: Tls) -> Result<Self> {
        let bindir = bindir()?;
        let as_postgres = is_root();
        let dir = temp_dir("portcullis-pg")?;
        let password = random_hex(16)?;
        let pwfile = dir.join("pwfile");
        std::fs::write(&pwfile, &password).map_err(|e| e.to_string())?;
        if as_postgres {
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir))?;
        }
        let port = free_port()?;
        let pg = Self {
            dir,
            bindir,
            as_postgres,
            port,
            password,
            tls,
        };
        let data = pg.dir.join("data");
        note(format!(
            "PostgreSQL ({}) on 127.0.0.1:{port}",
            pg.bindir.display()
        ));
        run(pg
            .tool("initdb")
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .stdout(std::process::Stdio::null()))?;
        let mut opts = format!(
            "-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c password_encryption=scram-sha-256 -c max_connections=200",
            pg.dir.display()
        );
        if tls != Tls::Off {
            // A throw-away CA and a server certificate it signs (web PKI rules refuse a
            // self-signed CA certificate used as the server's own).
            let openssl = |args: &[&str]| {
                run(Command::new("openssl")
                    .current_dir(&pg.dir)
                    .args(args)
                    .stderr(std::process::Stdio::null()))
            };
            openssl(&[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=Portcullis Test CA",
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
            ])?;
            openssl(&[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=localhost",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
            ])?;
            std::fs::write(
                pg.dir.join("server.ext"),
                "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
            )
            .map_err(|e| e.to_string())?;
            openssl(&[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "server.ext",
                "-out",
                "server.crt",
            ])?;
            for f in ["server.key", "server.crt"] {
                std::fs::copy(pg.dir.join(f), data.join(f)).map_err(|e| e.to_string())?;
            }
            let hba = if tls == Tls::Only {
                "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\nhostnossl all all 127.0.0.1/32 reject\n"
            } else {
                "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
            };
            std::fs::write(data.join("pg_hba.conf"), hba).map_err(|e| e.to_string())?;
            if as_postgres {
                run(Command::new("chown")
                    .args(["postgres:postgres"])
                    .arg(data.join("server.key"))
                    .arg(data.join("server.crt"))
                    .arg(data.join("pg_hba.conf")))?;
            }
            run(Command::new("chmod")
                .arg("600")
                .arg(data.join("server.key")))?;
            opts.push_str(" -c ssl=on");
            if tls == Tls::Only {
                // Every statement is logged: the CLI suite checks that no password reaches it.
                opts.push_str(" -c log_statement=all");
            }
        }
        run(pg
            .tool("pg_ctl")
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(pg.dir.join("server.log"))
            .args(["-w", "-t", "60", "-o", &opts, "start"])
            .stdout(std::process::Stdio::null()))?;
        Ok(pg)
    }

    /// Restarts the server (fast shutdown: open connections are cut), same settings.
    pub fn restart(&self) -> Result {
        run(self
            .tool("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "fast", "-w", "-t", "60", "restart"])
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .stdout(std::process::Stdio::null()))
    }

    fn tool(&self, name: &str) -> Command {
        let path = self.bindir.join(name);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    pub fn url(&self, user: &str, password: &str) -> String {
        format!(
            "postgres://{user}:{password}@127.0.0.1:{}/postgres{}",
            self.port,
            if self.tls == Tls::Only {
                "?sslmode=require"
            } else {
                "?sslmode=disable"
            }
        )
    }

    /// The CA that signed the TLS server's certificate (PEM).
    pub fn certificate(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    pub fn superuser_url(&self) -> String {
        self.url("postgres", &self.password)
    }

    pub fn connect(&self) -> Result<Pg> {
        Pg::connect(&self.superuser_url())
    }

    pub fn log(&self) -> PathBuf {
        self.dir.join("server.log")
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        let _ = self
            .tool("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "stop"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
