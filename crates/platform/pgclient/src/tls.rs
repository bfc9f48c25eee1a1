//! TLS for the client: rustls configurations for each `sslmode`, and the tokio-postgres
//! `TlsConnect` that wraps the encrypted stream in the [`Guarded`] filter and reports the
//! server's certificate for SCRAM channel binding (`SCRAM-SHA-256-PLUS`, RFC 5929
//! `tls-server-end-point`): with it a man in the middle cannot relay our login even where the
//! certificate is not checked.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use sha2::Digest;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_postgres::tls::{ChannelBinding, TlsConnect, TlsStream};
use x509_cert::der::Decode;

use crate::guard::Guarded;
use crate::url::{ConnectUrl, RootCert, SslMode};

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn roots(root: Option<&RootCert>) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    match root {
        Some(RootCert::File(path)) => {
            let name = path.display();
            let pem = std::fs::read(path).map_err(|e| format!("sslrootcert {name}: {e}"))?;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| format!("sslrootcert {name}: {e}"))?;
                store
                    .add(cert)
                    .map_err(|e| format!("sslrootcert {name}: {e}"))?;
            }
            if store.is_empty() {
                return Err(format!("sslrootcert {name}: no certificate in the file"));
            }
        }
        Some(RootCert::System) | None => {
            store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned())
        }
    }
    Ok(store)
}

/// The rustls configuration for `url`'s mode (libpq semantics: `require` with a root
/// certificate checks the chain, as `verify-ca` does).
pub(crate) fn client_config(url: &ConnectUrl) -> Result<Arc<ClientConfig>, String> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let checks_chain = match url.sslmode {
        SslMode::VerifyCa | SslMode::VerifyFull => true,
        SslMode::Require => url.root_cert.is_some(),
        SslMode::Disable | SslMode::Allow | SslMode::Prefer => false,
    };
    let config = if !checks_chain {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider)))
            .with_no_client_auth()
    } else {
        let store = Arc::new(roots(url.root_cert.as_ref())?);
        let webpki = WebPkiServerVerifier::builder_with_provider(store, provider)
            .build()
            .map_err(|e| e.to_string())?;
        if url.sslmode == SslMode::VerifyFull {
            builder
                .dangerous()
                .with_custom_certificate_verifier(webpki)
                .with_no_client_auth()
        } else {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyName(webpki)))
                .with_no_client_auth()
        }
    };
    Ok(Arc::new(config))
}

/// `require`: encrypt and check the handshake signatures, not who signed the certificate.
#[derive(Debug)]
struct EncryptOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to a trusted root; the name may be anything.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// RFC 5929 `tls-server-end-point`: the certificate hashed with its signature's hash (SHA-1
/// and MD5 upgraded to SHA-256), as PostgreSQL computes it. `None` when the algorithm defines
/// none (Ed25519, RSA-PSS): then plain SCRAM is used.
fn server_end_point(cert: &[u8]) -> Option<Vec<u8>> {
    let parsed = x509_cert::Certificate::from_der(cert).ok()?;
    let oid = parsed.signature_algorithm.oid.to_string();
    Some(match oid.as_str() {
        // md5/sha1/sha256 with RSA; ecdsa-with-SHA1/SHA256
        "1.2.840.113549.1.1.4"
        | "1.2.840.113549.1.1.5"
        | "1.2.840.113549.1.1.11"
        | "1.2.840.10045.4.1"
        | "1.2.840.10045.4.3.2" => sha2::Sha256::digest(cert).to_vec(),
        "1.2.840.113549.1.1.12" | "1.2.840.10045.4.3.3" => sha2::Sha384::digest(cert).to_vec(),
        "1.2.840.113549.1.1.13" | "1.2.840.10045.4.3.4" => sha2::Sha512::digest(cert).to_vec(),
        _ => return None,
    })
}

/// The encrypted, guarded stream tokio-postgres talks through.
pub(crate) type SecureStream<S> = Guarded<tokio_rustls::client::TlsStream<S>>;

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for SecureStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        let (_, session) = self.get_ref().get_ref();
        session
            .peer_certificates()
            .and_then(|certs| certs.first())
            .and_then(|c| server_end_point(c.as_ref()))
            .map_or_else(ChannelBinding::none, ChannelBinding::tls_server_end_point)
    }
}

/// tokio-postgres's TLS hook: rustls with our configuration, then the guard.
pub(crate) struct Connect {
    pub(crate) config: Arc<ClientConfig>,
    pub(crate) name: ServerName<'static>,
    /// The login has a password: see [`Guarded::new`].
    pub(crate) require_scram: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> TlsConnect<S> for Connect {
    type Stream = SecureStream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<SecureStream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        let connector = tokio_rustls::TlsConnector::from(self.config);
        Box::pin(async move {
            let tls = connector.connect(self.name, stream).await?;
            Ok(Guarded::new(tls, self.require_scram))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_signature_algorithms_bind_nothing() {
        assert_eq!(server_end_point(b"not a certificate"), None);
    }
}
